// From a client history to what the checker needs, and the checks that need no search:
//
// - Revisions are Raft log indexes, one per entry, so every revision a client saw names one
//   write: a value seen with two revisions, two values with one revision, or a value that no
//   client wrote are anomalies on their own.
// - Revisions follow real time: a write acknowledged before another write began has the lower
//   revision, and a linearizable read's store revision (X-Kv-Revision) is at least that of
//   every write acknowledged before the read began.
// - Lost acknowledged writes, from the converged final state (see lostWrites).
//
// Values are unique per write, so a value stands for the write that wrote it; the checker's
// register holds small integers (one per value, per key). A CAS names its expected value by
// revision; the revision → value map built from every observation turns it into a value.

import {
  ABSENT,
  type CheckOp,
  type CurrentState,
  NO_VALUE,
  type RegisterOp,
  UNSEEN,
} from "./lincheck.ts";
import type { CompletedOp } from "./history.ts";

export interface Translation {
  partitions: Map<string, CheckOp[]>;
  anomalies: string[];
}

/** What the history says each value's write got: its key, revision and version. */
class Observations {
  readonly keyOf = new Map<string, string>();
  readonly revisionOf = new Map<string, number>();
  readonly valueAt = new Map<number, { key: string; value: string }>();
  private readonly versionOf = new Map<string, number>();
  private readonly deleteAt = new Map<number, number>();

  constructor(ops: readonly CompletedOp[], private readonly anomalies: string[]) {
    for (const op of ops) {
      if ((op.kind === "put" || op.kind === "cas") && op.value !== null) {
        if (this.keyOf.has(op.value)) throw new Error(`workload bug: value ${op.value} reused`);
        this.keyOf.set(op.value, op.key);
      }
    }
    for (const op of ops) this.add(op);
  }

  private add(op: CompletedOp): void {
    const o = op.outcome;
    switch (o.type) {
      case "value":
        if (this.keyOf.get(o.value) !== op.key) {
          this.anomalies.push(`op ${op.id}: read ${op.key} = ${o.value}, which no client wrote`);
        }
        this.value(op, o.value, o.revision, o.version);
        if (o.revision > o.storeRevision) {
          this.anomalies.push(
            `op ${op.id}: ETag ${o.revision} is above the store revision ${o.storeRevision}`,
          );
        }
        return;
      case "written":
        this.value(op, op.value!, o.revision, o.version);
        return;
      case "deleted": {
        const other = this.valueAt.get(o.revision) ?? this.deleteAt.get(o.revision);
        if (other !== undefined) {
          this.anomalies.push(
            `op ${op.id}: delete got revision ${o.revision}, also used by ${JSON.stringify(other)}`,
          );
        }
        this.deleteAt.set(o.revision, op.id);
        return;
      }
      case "absent":
      case "preconditionFailed":
      case "failed":
      case "unknown":
        return;
    }
  }

  private value(op: CompletedOp, value: string, revision: number, version: number): void {
    const known = this.revisionOf.get(value);
    if (known !== undefined && known !== revision) {
      this.anomalies.push(`op ${op.id}: ${value} seen at revision ${revision} and ${known}`);
    }
    const knownVersion = this.versionOf.get(value);
    if (knownVersion !== undefined && knownVersion !== version) {
      this.anomalies.push(`op ${op.id}: ${value} seen at version ${version} and ${knownVersion}`);
    }
    const at = this.valueAt.get(revision);
    if ((at !== undefined && at.value !== value) || this.deleteAt.has(revision)) {
      this.anomalies.push(
        `op ${op.id}: revision ${revision} holds ${value} and also ${at?.value ?? "a delete"}`,
      );
    }
    this.revisionOf.set(value, revision);
    this.versionOf.set(value, version);
    if (at === undefined) this.valueAt.set(revision, { key: op.key, value });
  }
}

/** Small integers for one key's values; reads of unwritten values get ids no write has. */
class ValueIds {
  private readonly ids = new Map<string, number>();

  id(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(value, id);
    }
    return id;
  }

  known(value: string): number | undefined {
    return this.ids.get(value);
  }
}

/**
 * Per-key checker input. Failed operations (not applied) and reads without an answer are left
 * out; an indeterminate write whose value a determinate operation observed must have happened
 * before that observation, so it gets that observation's completion as its own (etcd's
 * robustness tests "patch" histories the same way); the others stay indeterminate.
 */
export function toCheckOps(ops: readonly CompletedOp[]): Translation {
  const anomalies: string[] = [];
  const seen = new Observations(ops, anomalies);
  anomalies.push(...realTimeAnomalies(ops));
  const observedAt = firstObservations(ops, seen);
  const idsByKey = new Map<string, ValueIds>();
  const idsOf = (key: string) => {
    let ids = idsByKey.get(key);
    if (ids === undefined) idsByKey.set(key, ids = new ValueIds());
    return ids;
  };
  // Every written value gets its id up front, so a 412 can exclude values written later.
  for (const op of ops) if (op.value !== null) idsOf(op.key).id(op.value);
  const partitions = new Map<string, CheckOp[]>();
  for (const op of ops) {
    const ids = idsOf(op.key);
    const unseen = op.outcome.type === "unknown" && op.value !== null &&
      !observedAt.has(op.value);
    const registerOp = toRegisterOp(op, ids, seen, unseen);
    if (registerOp === null) continue;
    let completeMs = op.outcome.type === "unknown" ? null : op.completeMs;
    const observedMs = op.value === null ? undefined : observedAt.get(op.value);
    // (Seen before it was even invoked: kept impossible, so the checker reports it.)
    if (completeMs === null && observedMs !== undefined) {
      completeMs = Math.max(observedMs, op.invokeMs);
    }
    let list = partitions.get(op.key);
    if (list === undefined) partitions.set(op.key, list = []);
    list.push({ id: op.id, invokeMs: op.invokeMs, completeMs, op: registerOp });
  }
  return { partitions, anomalies };
}

/** The value a CAS's If-Match revision names on its key, else NO_VALUE. */
function expectedValue(op: CompletedOp, ids: ValueIds, seen: Observations): number {
  const at = seen.valueAt.get(op.expectRevision ?? -1);
  return at !== undefined && at.key === op.key ? ids.id(at.value) : NO_VALUE;
}

/** `unseen`: an indeterminate write whose value nobody observed (see UNSEEN). */
function toRegisterOp(
  op: CompletedOp,
  ids: ValueIds,
  seen: Observations,
  unseen: boolean,
): RegisterOp | null {
  const o = op.outcome;
  if (o.type === "failed") return null;
  switch (op.kind) {
    case "get":
      if (o.type === "value") return { type: "read", expect: ids.id(o.value) };
      if (o.type === "absent") return { type: "read", expect: ABSENT };
      return null;
    case "put":
      return { type: "write", value: unseen ? UNSEEN : ids.id(op.value!) };
    case "cas": {
      const from = expectedValue(op, ids, seen);
      const to = unseen ? UNSEEN : ids.id(op.value!);
      if (o.type === "written") return { type: "cas", from, to, outcome: "ok", current: ANY };
      if (o.type === "preconditionFailed") {
        return {
          type: "cas",
          from,
          to,
          outcome: "failed",
          current: currentState(op, o.currentRevision, ids, seen),
        };
      }
      return { type: "cas", from, to, outcome: "unknown", current: ANY };
    }
    case "delete":
      if (o.type === "deleted") return { type: "delete", outcome: "deleted" };
      if (o.type === "absent") return { type: "delete", outcome: "absent" };
      return { type: "delete", outcome: "unknown" };
  }
}

const ANY: CurrentState = { type: "any" };

/** A 412's currentRevision as a constraint on the register. */
function currentState(
  op: CompletedOp,
  currentRevision: number | null,
  ids: ValueIds,
  seen: Observations,
): CurrentState {
  if (currentRevision === null) return { type: "is", value: ABSENT };
  const at = seen.valueAt.get(currentRevision);
  if (at !== undefined && at.key === op.key) return { type: "is", value: ids.id(at.value) };
  // A write nobody saw with its revision: any value whose revision is known is excluded.
  const excluded: number[] = [];
  for (const [value, revision] of seen.revisionOf) {
    const id = seen.keyOf.get(value) === op.key ? ids.known(value) : undefined;
    if (id !== undefined && revision !== currentRevision) excluded.push(id);
  }
  return { type: "presentExcept", excluded };
}

/** When each value was first seen by an operation that certainly observed it. */
function firstObservations(ops: readonly CompletedOp[], seen: Observations): Map<string, number> {
  const first = new Map<string, number>();
  const note = (value: string | undefined, atMs: number | null) => {
    if (value === undefined || atMs === null) return;
    const known = first.get(value);
    if (known === undefined || atMs < known) first.set(value, atMs);
  };
  for (const op of ops) {
    const o = op.outcome;
    if (o.type === "value") note(o.value, op.completeMs);
    if (op.kind === "cas" && o.type === "written") {
      note(seen.valueAt.get(op.expectRevision ?? -1)?.value, op.completeMs);
    }
    if (o.type === "preconditionFailed" && o.currentRevision !== null) {
      note(seen.valueAt.get(o.currentRevision)?.value, op.completeMs);
    }
  }
  return first;
}

/** Revisions against real time, across all keys (see the file comment). */
export function realTimeAnomalies(ops: readonly CompletedOp[]): string[] {
  const anomalies: string[] = [];
  const acked = ops.filter((op) => ackedRevision(op) !== null && op.completeMs !== null);
  acked.sort((a, b) => a.completeMs! - b.completeMs!);
  const invoked = ops.filter((op) => op.outcome.type === "value" || ackedRevision(op) !== null);
  invoked.sort((a, b) => a.invokeMs - b.invokeMs);
  let i = 0;
  let maxRevision = 0;
  let maxOp = -1;
  for (const op of invoked) {
    while (i < acked.length && acked[i].completeMs! < op.invokeMs) {
      const revision = ackedRevision(acked[i])!;
      if (revision > maxRevision) [maxRevision, maxOp] = [revision, acked[i].id];
      i++;
    }
    const o = op.outcome;
    const revision = ackedRevision(op);
    if (revision !== null && revision <= maxRevision) {
      anomalies.push(
        `op ${op.id}: revision ${revision} is not above ${maxRevision} of op ${maxOp}, acknowledged before it began`,
      );
    }
    if (o.type === "value" && o.storeRevision < maxRevision) {
      anomalies.push(
        `op ${op.id}: read at store revision ${o.storeRevision}, below ${maxRevision} of op ${maxOp}, acknowledged before it began (stale read)`,
      );
    }
  }
  return anomalies;
}

function ackedRevision(op: CompletedOp): number | null {
  const o = op.outcome;
  return o.type === "written" || o.type === "deleted" ? o.revision : null;
}

/** A key's state once every replica agrees: its value and ETag revision, or absent. */
export type FinalState = { value: string; revision: number } | null;

/**
 * Acknowledged writes missing from the converged state. Revisions are log indexes, so a key
 * whose final revision is below an acknowledged write's revision lost that write (and every
 * later one): the entry is not in the applied log. A key that is finally absent lost an
 * acknowledged put unless a delete could have come after it: an acknowledged delete with a
 * higher revision, or an indeterminate delete (its revision is unknown). An acknowledged
 * delete is lost when the key finally holds a value older than the delete.
 */
export function lostWrites(
  ops: readonly CompletedOp[],
  finals: ReadonlyMap<string, FinalState>,
): string[] {
  const lost: string[] = [];
  for (const op of ops) {
    const revision = ackedRevision(op);
    if (revision === null || !finals.has(op.key)) continue;
    const final = finals.get(op.key)!;
    const what = `op ${op.id} (${op.kind} ${op.key}${
      op.value ? ` = ${op.value}` : ""
    }, revision ${revision})`;
    if (final !== null && final.revision < revision) {
      lost.push(`${what}: ${op.key} ends at revision ${final.revision} (${final.value})`);
    } else if (final === null && op.kind !== "delete" && !deletedAfter(ops, op.key, revision)) {
      lost.push(`${what}: ${op.key} ends absent and no delete can explain it`);
    }
  }
  return lost;
}

function deletedAfter(ops: readonly CompletedOp[], key: string, revision: number): boolean {
  return ops.some((op) =>
    op.kind === "delete" && op.key === key &&
    (op.outcome.type === "unknown" ||
      (op.outcome.type === "deleted" && op.outcome.revision > revision))
  );
}
