// The client history of a chaos run: every operation with its invocation time, completion time
// and outcome, as a client saw it. Times are milliseconds since the run started (one
// monotonic clock, performance.now(), in the one process that runs every client).

export type OpKind = "get" | "put" | "cas" | "delete";

export type Outcome =
  /** GET 200: the value, its ETag (the key's last-write revision), version, store revision. */
  | { type: "value"; value: string; revision: number; version: number; storeRevision: number }
  /** GET 404, DELETE 404. */
  | { type: "absent" }
  /** PUT 200 (plain or CAS). */
  | { type: "written"; revision: number; version: number }
  /** DELETE 200. */
  | { type: "deleted"; revision: number }
  /** CAS 412, with the key's current revision (null: absent). */
  | { type: "preconditionFailed"; currentRevision: number | null }
  /** Definitely not applied: 503 (refused before proposing), or the connection was refused. */
  | { type: "failed"; reason: string }
  /** Indeterminate: 504, a client timeout, a broken connection, an unexpected status. */
  | { type: "unknown"; reason: string };

export interface HistoryOp {
  id: number;
  /** "c3" (a workload client), "probe" (nemesis checks), "final" (reads after healing). */
  client: string;
  /** The node the request went to. */
  node: string;
  kind: OpKind;
  key: string;
  /** PUT/CAS: the value written (unique in the whole run). */
  value: string | null;
  /** CAS: the If-Match revision. */
  expectRevision: number | null;
  invokeMs: number;
  /** null while pending, and for indeterminate outcomes (they complete "at infinity"). */
  completeMs: number | null;
  /** null while pending. */
  outcome: Outcome | null;
}

/** Records operations as clients invoke and complete them. */
export class History {
  readonly ops: HistoryOp[] = [];
  private readonly startMs = performance.now();

  nowMs(): number {
    return performance.now() - this.startMs;
  }

  invoke(op: Omit<HistoryOp, "id" | "invokeMs" | "completeMs" | "outcome">): HistoryOp {
    const recorded: HistoryOp = {
      ...op,
      id: this.ops.length,
      invokeMs: this.nowMs(),
      completeMs: null,
      outcome: null,
    };
    this.ops.push(recorded);
    return recorded;
  }

  complete(op: HistoryOp, outcome: Outcome): void {
    if (op.outcome !== null) throw new Error(`op ${op.id} completed twice`);
    op.outcome = outcome;
    op.completeMs = outcome.type === "unknown" ? null : this.nowMs();
  }

  /** Operations still pending are indeterminate: a client that never heard back. */
  closePending(reason: string): number {
    let count = 0;
    for (const op of this.ops) {
      if (op.outcome === null) {
        this.complete(op, { type: "unknown", reason });
        count++;
      }
    }
    return count;
  }

  counts(): Record<Outcome["type"] | "pending", number> {
    const counts = {
      value: 0,
      absent: 0,
      written: 0,
      deleted: 0,
      preconditionFailed: 0,
      failed: 0,
      unknown: 0,
      pending: 0,
    };
    for (const op of this.ops) counts[op.outcome?.type ?? "pending"]++;
    return counts;
  }
}

/** A completed history; throws on an operation without an outcome. */
export function completedOps(ops: readonly HistoryOp[]): CompletedOp[] {
  return ops.map((op) => {
    if (op.outcome === null) throw new Error(`op ${op.id} has no outcome`);
    return op as CompletedOp;
  });
}

export type CompletedOp = HistoryOp & { outcome: Outcome };
