// etcd-style transactions: if every compare holds, run `success`, else `failure`; atomically,
// in one entry, so all writes share the entry's revision. Ops run in order and see each
// other's effects (a get after a put in the same branch reads the new value).

import type { Compare, CompareOp, TxnCommand, TxnOp } from "./commands.ts";
import type { KeyValue, TxnOpResult, TxnResult } from "./results.ts";
import { deleteKey, reap, revisionAfter, type WriteContext, writeKey } from "./writes.ts";
import { assertNever } from "./assert.ts";

/**
 * Applies a txn. Every key it names (compares and both branches) is reaped first if expired,
 * so compares and ops alike see expired keys as absent.
 */
export function applyTxn(ctx: WriteContext, command: TxnCommand): TxnResult {
  for (const key of namedKeys(command)) reap(ctx, key);
  const succeeded = command.compare.every((c) => holds(c, ctx.space.get(c.key)));
  const ops = succeeded ? command.success : command.failure;
  const results = ops.map((op) => runOp(ctx, op));
  return { type: "txn", succeeded, revision: revisionAfter(ctx), results };
}

/** Keys in order of first mention, each once. */
function namedKeys(command: TxnCommand): string[] {
  const keys = new Set<string>();
  for (const c of command.compare) keys.add(c.key);
  for (const op of command.success) keys.add(op.key);
  for (const op of command.failure) keys.add(op.key);
  return [...keys];
}

/** etcd's rules for an absent key: version and revision are 0, a value compare is false. */
export function holds(c: Compare, kv: KeyValue | undefined): boolean {
  switch (c.target) {
    case "value":
      return kv !== undefined && test(compareBytes(kv.value, c.value), c.op);
    case "version":
      return test((kv?.version ?? 0) - c.value, c.op);
    case "revision":
      return test((kv?.modRevision ?? 0) - c.value, c.op);
    case "exists":
      return test((kv !== undefined) === c.value ? 0 : 1, c.op);
    default:
      return assertNever(c, "compare target");
  }
}

function test(order: number, op: CompareOp): boolean {
  switch (op) {
    case "==":
      return order === 0;
    case "!=":
      return order !== 0;
    case "<":
      return order < 0;
    case ">":
      return order > 0;
    default:
      return assertNever(op, "compare op");
  }
}

/** Lexicographic byte order: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.byteLength - b.byteLength;
}

function runOp(ctx: WriteContext, op: TxnOp): TxnOpResult {
  switch (op.type) {
    case "put":
      return { type: "put", ...writeKey(ctx, op.key, op.value, op.ttlMs) };
    case "get":
      return { type: "get", kv: ctx.space.get(op.key) ?? null };
    case "delete":
      return { type: "delete", deleted: deleteKey(ctx, op.key) };
    default:
      return assertNever(op, "txn op");
  }
}
