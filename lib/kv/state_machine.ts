// The replicated key-value state machine. Pure and deterministic: the same entries in the same
// order give the same state and the same snapshot bytes on every replica. Time comes only from
// the leader's stamp inside each command; nothing here reads a clock, does I/O or awaits.
//
// Numbers: `appliedIndex` is the index of the last entry applied (any kind). `revision` is the
// store's revision, etcd-style: the index of the last entry that changed the key space (a put,
// delete or expiry); entries that change nothing (no-ops, config changes, failed CAS, reads-only
// txns, empty sweeps) leave it alone, so two reads with no write between report the same one.
// The revision of a write is the index of its entry; all writes of one entry share it.
//
// Time: `clockMs` is the largest leader time seen so far. Each command is applied at
// max(command.time, clockMs) so that time never runs backwards across a leader change with a
// slower clock, and a key once expired stays expired. A key is expired at index i iff
// expiresAt <= the time of entry i. Expired keys are hidden from reads at once, and removed
// (with `expire` events) when a write touches them or a sweep runs.

import { type Command, decodeCommand } from "./commands.ts";
import { IdempotencyTable } from "./idempotency.ts";
import { compareKeys } from "./keys.ts";
import { commandProblem, defaultKvLimits, type KvLimits } from "./limits.ts";
import type { Applied, CommandResult, KeyValue } from "./results.ts";
import { decodeSnapshot, encodeSnapshot, SnapshotError } from "./snapshot.ts";
import { isExpired, KeySpace } from "./store.ts";
import { applyTxn } from "./txn.ts";
import { applyDelete, applyPut, applySweep, revisionAfter, type WriteContext } from "./writes.ts";
import { assert, assertNever } from "./assert.ts";

export interface RangeQuery {
  /** Only keys starting with this (default: all keys). */
  prefix?: string;
  /** Only keys after this one (exclusive): pass the previous page's `next`. */
  after?: string;
  /** Items at most; clamped to [1, rangeLimitMax], default rangeLimitMax. */
  limit?: number;
  /** Leave values out (`value: null`). */
  keysOnly?: boolean;
}

export type RangeItem = Omit<KeyValue, "value"> & { value: Uint8Array | null };

export interface RangeResult {
  /** In UTF-8 byte order of the keys. */
  items: RangeItem[];
  /** The last item's key when more items follow (pass it as `after`), else null. */
  next: string | null;
  /** The store's revision when read. */
  revision: number;
}

export class KvStateMachine {
  readonly limits: Readonly<KvLimits>;
  #space = new KeySpace();
  #idempotency: IdempotencyTable;
  #appliedIndex = 0;
  #revision = 0;
  #clockMs = 0;

  /** Every replica of a cluster must use the same limits (they decide what is `invalid`). */
  constructor(limits: Partial<KvLimits> = {}) {
    this.limits = Object.freeze({ ...defaultKvLimits, ...limits });
    this.#idempotency = new IdempotencyTable(this.limits);
  }

  /** A state machine from `snapshot()` bytes. Throws SnapshotError if they are malformed. */
  static restore(bytes: Uint8Array, limits: Partial<KvLimits> = {}): KvStateMachine {
    const image = decodeSnapshot(bytes);
    const machine = new KvStateMachine(limits);
    try {
      machine.#space = KeySpace.fromSorted(image.records);
      machine.#idempotency = IdempotencyTable.fromEntries(image.idempotency, machine.limits);
    } catch (e) {
      throw new SnapshotError(`bad snapshot: ${e instanceof Error ? e.message : e}`);
    }
    machine.#appliedIndex = image.appliedIndex;
    machine.#revision = image.revision;
    machine.#clockMs = image.clockMs;
    return machine;
  }

  /** Index of the last entry applied. */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** The store's revision: index of the last entry that changed the key space. */
  get revision(): number {
    return this.#revision;
  }

  /** Largest leader time applied so far (ms). A leader should stamp no earlier than this. */
  get clockMs(): number {
    return this.#clockMs;
  }

  /** Keys held, including expired ones a sweep has not removed yet. */
  get size(): number {
    return this.#space.size;
  }

  /** Entries in the idempotency table. */
  get idempotencySize(): number {
    return this.#idempotency.size;
  }

  /** Earliest expiry among held keys (leader ms), or null: when a sweep would do something. */
  nextExpiresAt(): number | null {
    return this.#space.nextExpiresAt();
  }

  /** Applies the `normal` entry at `index`, which must be appliedIndex + 1. Never throws on
   * bad bytes: they give an `error` result and change nothing but appliedIndex. */
  apply(index: number, data: Uint8Array): Applied {
    this.#checkNext(index);
    const decoded = decodeCommand(data);
    if (decoded.type === "error") {
      this.#appliedIndex = index;
      const result = { type: "error", reason: decoded.reason } as const;
      return { index, reqId: decoded.reqId, result, events: [], replayed: false };
    }
    const command = decoded.command;
    this.#clockMs = Math.max(this.#clockMs, command.time);
    this.#idempotency.expire(this.#clockMs);
    const key = command.idempotencyKey;
    const recorded = key === undefined ? null : this.#idempotency.lookup(key);
    this.#appliedIndex = index;
    if (recorded !== null) {
      return { index, reqId: command.reqId, result: recorded, events: [], replayed: true };
    }
    const ctx: WriteContext = {
      space: this.#space,
      index,
      timeMs: this.#clockMs,
      revisionBefore: this.#revision,
      events: [],
    };
    const result = this.#execute(ctx, command);
    if (key !== undefined) this.#idempotency.record(key, index, this.#clockMs, result);
    return { index, reqId: command.reqId, result, events: ctx.events, replayed: false };
  }

  /** Applies an entry that carries no command (a leader's no-op, a config change). */
  applyNoop(index: number): void {
    this.#checkNext(index);
    this.#appliedIndex = index;
  }

  /** The live record for `key` at leader time `nowMs` (never earlier than clockMs), or null. */
  get(key: string, nowMs: number): KeyValue | null {
    return this.#space.live(key, Math.max(nowMs, this.#clockMs));
  }

  /** Live keys in UTF-8 order, filtered and paged. */
  range(query: RangeQuery, nowMs: number): RangeResult {
    const timeMs = Math.max(nowMs, this.#clockMs);
    const prefix = query.prefix ?? "";
    const limitMax = this.limits.rangeLimitMax;
    const wanted = query.limit !== undefined && Number.isFinite(query.limit)
      ? query.limit
      : limitMax;
    const limit = Math.min(Math.max(1, Math.floor(wanted)), limitMax);
    // Start at the prefix, or just past `after` when that lies beyond the prefix's start.
    const after = query.after;
    const afterWins = after !== undefined && compareKeys(after, prefix) >= 0;
    const items: RangeItem[] = [];
    let next: string | null = null;
    for (const kv of this.#space.from(afterWins ? after : prefix, afterWins)) {
      if (!kv.key.startsWith(prefix)) break;
      if (isExpired(kv, timeMs)) continue;
      if (items.length === limit) {
        next = items[items.length - 1].key;
        break;
      }
      items.push(query.keysOnly === true ? { ...kv, value: null } : kv);
    }
    return { items, next, revision: this.#revision };
  }

  /** The whole state as bytes; identical on replicas that applied the same entries. */
  snapshot(): Uint8Array {
    return encodeSnapshot({
      appliedIndex: this.#appliedIndex,
      revision: this.#revision,
      clockMs: this.#clockMs,
      records: [...this.#space.from(null, false)],
      idempotency: this.#idempotency.entries(),
    });
  }

  #checkNext(index: number): void {
    assert(
      index === this.#appliedIndex + 1,
      `apply out of order: index ${index} after appliedIndex ${this.#appliedIndex}`,
    );
  }

  #execute(ctx: WriteContext, command: Command): CommandResult {
    const problem = commandProblem(command, this.limits);
    if (problem !== null) return { type: "invalid", reason: problem };
    const result = this.#run(ctx, command);
    this.#revision = revisionAfter(ctx);
    return result;
  }

  #run(ctx: WriteContext, command: Command): CommandResult {
    switch (command.type) {
      case "put":
        return applyPut(ctx, command);
      case "delete":
        return applyDelete(ctx, command);
      case "txn":
        return applyTxn(ctx, command);
      case "sweep":
        return applySweep(ctx, this.limits.sweepKeysMax);
      default:
        return assertNever(command, "command");
    }
  }
}
