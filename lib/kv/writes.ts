// The write primitives every command is made of, and the put, delete and sweep commands.
// Each runs inside one entry: revision = the entry's index, time = the entry's leader time.

import type { DeleteCommand, PutCommand } from "./commands.ts";
import type { KvEvent } from "./events.ts";
import type { DeleteResult, PutResult, SweepResult } from "./results.ts";
import { isExpired, type KeySpace } from "./store.ts";

/** The entry being applied. */
export interface WriteContext {
  space: KeySpace;
  index: number;
  /** Leader time of the entry (monotonic: never below an earlier entry's). */
  timeMs: number;
  /** The store's revision before this entry. */
  revisionBefore: number;
  /** Changes so far, in order. */
  events: KvEvent[];
}

/** The store's revision once the entry is done: its index if it changed anything. */
export function revisionAfter(ctx: WriteContext): number {
  return ctx.events.length > 0 ? ctx.index : ctx.revisionBefore;
}

/** Removes `key` if it has expired by the entry's time, with an `expire` event. */
export function reap(ctx: WriteContext, key: string): void {
  const kv = ctx.space.get(key);
  if (kv === undefined || !isExpired(kv, ctx.timeMs)) return;
  ctx.space.remove(key);
  ctx.events.push({ type: "expire", key, revision: ctx.index, version: 0 });
}

/** Writes `value` (copied) at the entry's revision. The key must have been reaped. */
export function writeKey(
  ctx: WriteContext,
  key: string,
  value: Uint8Array,
  ttlMs: number | undefined,
): { revision: number; version: number } {
  const old = ctx.space.get(key);
  const stored = new Uint8Array(value);
  const version = old === undefined ? 1 : old.version + 1;
  ctx.space.set({
    key,
    value: stored,
    createRevision: old === undefined ? ctx.index : old.createRevision,
    modRevision: ctx.index,
    version,
    // A write without a TTL clears an earlier one (etcd's put without a lease; CS733 exptime 0).
    expiresAt: ttlMs === undefined ? null : ctx.timeMs + ttlMs,
  });
  ctx.events.push({ type: "put", key, value: stored, revision: ctx.index, version });
  return { revision: ctx.index, version };
}

/** Deletes `key` at the entry's revision; false if it was absent. The key must have been reaped. */
export function deleteKey(ctx: WriteContext, key: string): boolean {
  if (ctx.space.remove(key) === undefined) return false;
  ctx.events.push({ type: "delete", key, revision: ctx.index, version: 0 });
  return true;
}

/**
 * Preconditions are checked after reaping, so an expired key counts as absent. An absent key
 * fails `ifRevision` and `ifVersion` with `current: null` (the text protocol's ERR_NOT_FOUND).
 */
export function applyPut(ctx: WriteContext, command: PutCommand): PutResult {
  reap(ctx, command.key);
  const kv = ctx.space.get(command.key);
  const current = kv === undefined ? null : { revision: kv.modRevision, version: kv.version };
  if (command.ifAbsent === true && current !== null) {
    return { type: "failed", reason: "exists", current };
  }
  if (command.ifRevision !== undefined && current?.revision !== command.ifRevision) {
    return { type: "failed", reason: "revision", current };
  }
  if (command.ifVersion !== undefined && current?.version !== command.ifVersion) {
    return { type: "failed", reason: "version", current };
  }
  return { type: "put", ...writeKey(ctx, command.key, command.value, command.ttlMs) };
}

/** An absent (or expired) key is `notFound`, with or without `ifRevision`. */
export function applyDelete(ctx: WriteContext, command: DeleteCommand): DeleteResult {
  reap(ctx, command.key);
  const kv = ctx.space.get(command.key);
  if (kv === undefined) return { type: "notFound" };
  if (command.ifRevision !== undefined && kv.modRevision !== command.ifRevision) {
    return {
      type: "failed",
      reason: "revision",
      current: { revision: kv.modRevision, version: kv.version },
    };
  }
  deleteKey(ctx, command.key);
  return { type: "delete", revision: ctx.index };
}

/** Removes up to `keysMax` expired keys, earliest expiry first. */
export function applySweep(ctx: WriteContext, keysMax: number): SweepResult {
  const keys = ctx.space.expiredKeys(ctx.timeMs, keysMax + 1);
  const batch = keys.slice(0, keysMax);
  for (const key of batch) reap(ctx, key);
  const more = keys.length > keysMax;
  return { type: "sweep", expired: batch.length, more, revision: revisionAfter(ctx) };
}
