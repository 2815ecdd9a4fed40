// Histories of a simulated linearizable store, for testing the checker: concurrent clients,
// each operation taking effect at one instant between its invocation and completion, some
// writes answered "unknown" (applied or not) and some refused (not applied). Revisions are
// log indexes, as in raftkv: every write, failed CAS and missed delete takes one.

import { Rng } from "../rng.ts";
import type { CompletedOp, OpKind, Outcome } from "./history.ts";

export interface FakeOptions {
  seed: number;
  ops: number;
  keys: number;
  clients: number;
  /** Share of writes whose outcome the client never learns (half of them applied). */
  unknownRate?: number;
  /** Share of writes refused and not applied (503). */
  failedRate?: number;
  /** End with one read per key by client "final", after everything else (as chaos runs do). */
  finalReads?: boolean;
}

interface Stored {
  value: string;
  revision: number;
  version: number;
}

interface ClientState {
  name: string;
  op: CompletedOp | null;
  phase: "idle" | "invoked" | "applied";
  atMs: number;
  applied: boolean;
  result: Outcome | null;
  /** The revision this client last saw per key (for its CAS). */
  known: Map<string, number>;
}

export function fakeHistory(o: FakeOptions): CompletedOp[] {
  const rng = new Rng(o.seed);
  const store = new Map<string, Stored>();
  let logIndex = 1;
  let storeRevision = 1;
  const ops: CompletedOp[] = [];
  const clients: ClientState[] = Array.from({ length: o.clients }, (_, i) => ({
    name: `c${i}`,
    op: null,
    phase: "idle",
    atMs: rng.next() * 5,
    applied: false,
    result: null,
    known: new Map(),
  }));
  let seq = 0;

  const apply = (op: CompletedOp): Outcome => {
    const current = store.get(op.key);
    switch (op.kind) {
      case "get":
        return current
          ? {
            type: "value",
            value: current.value,
            revision: current.revision,
            version: current.version,
            storeRevision,
          }
          : { type: "absent" };
      case "put":
      case "cas": {
        const index = ++logIndex;
        if (op.kind === "cas" && current?.revision !== op.expectRevision) {
          return { type: "preconditionFailed", currentRevision: current?.revision ?? null };
        }
        const version = (current?.version ?? 0) + 1;
        store.set(op.key, { value: op.value!, revision: index, version });
        storeRevision = index;
        return { type: "written", revision: index, version };
      }
      case "delete": {
        const index = ++logIndex;
        if (!current) return { type: "absent" };
        store.delete(op.key);
        storeRevision = index;
        return { type: "deleted", revision: index };
      }
    }
  };

  let invoked = 0;
  while (true) {
    const active = clients.filter((c) => c.phase !== "idle" || invoked < o.ops);
    if (active.length === 0) break;
    const c = active.reduce((a, b) => (b.atMs < a.atMs ? b : a));
    switch (c.phase) {
      case "idle": {
        const key = `k${rng.int(0, o.keys - 1)}`;
        const kind = rng.pick<OpKind>(["get", "get", "put", "put", "cas", "delete"]);
        const writes = kind !== "get";
        const known = c.known.get(key) ?? null;
        const op: CompletedOp = {
          id: ops.length,
          client: c.name,
          node: "n1",
          kind: kind === "cas" && known === null ? "put" : kind,
          key,
          value: kind === "put" || kind === "cas" ? `${c.name}-${++seq}` : null,
          expectRevision: kind === "cas" ? known : null,
          invokeMs: c.atMs,
          completeMs: null,
          outcome: { type: "unknown", reason: "pending" },
        };
        ops.push(op);
        invoked++;
        c.op = op;
        const roll = rng.next();
        const failed = writes && roll < (o.failedRate ?? 0);
        const unknown = writes && !failed && roll < (o.failedRate ?? 0) + (o.unknownRate ?? 0);
        c.applied = !failed && (!unknown || rng.chance(0.5));
        c.result = failed
          ? { type: "failed", reason: "503" }
          : unknown
          ? { type: "unknown", reason: "504" }
          : null;
        c.phase = "invoked";
        c.atMs += rng.next() * 3;
        break;
      }
      case "invoked": {
        const outcome = c.applied || c.op!.kind === "get" ? apply(c.op!) : null;
        c.result ??= outcome;
        c.phase = "applied";
        c.atMs += rng.next() * 3;
        break;
      }
      case "applied": {
        const op = c.op!;
        op.outcome = c.result!;
        op.completeMs = op.outcome.type === "unknown" ? null : c.atMs;
        learn(c, op);
        c.phase = "idle";
        c.atMs += rng.next() * 2;
        break;
      }
    }
  }
  if (o.finalReads) {
    const endMs = Math.max(...ops.map((op) => op.completeMs ?? op.invokeMs)) + 1;
    for (let k = 0; k < o.keys; k++) {
      const op: CompletedOp = {
        id: ops.length,
        client: "final",
        node: "n1",
        kind: "get",
        key: `k${k}`,
        value: null,
        expectRevision: null,
        invokeMs: endMs + k,
        completeMs: endMs + k + 0.5,
        outcome: { type: "absent" },
      };
      op.outcome = apply(op);
      ops.push(op);
    }
  }
  return ops;
}

function learn(c: ClientState, op: CompletedOp): void {
  const o = op.outcome;
  if (o.type === "value" || o.type === "written") c.known.set(op.key, o.revision);
  if (o.type === "absent" || o.type === "deleted") c.known.delete(op.key);
}
