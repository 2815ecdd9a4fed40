// Exactly once: the replicated table of results by idempotency key. It is part of the state
// (and of snapshots), so a retry answers the same on any replica, even after a leader change.
// Bounded by entries and bytes (oldest revision evicted first) and by age in leader time.

import { Decoder, Encoder } from "@msgpack/msgpack";
import { type CommandResult, commandResultSchema } from "./results.ts";
import { assert } from "./assert.ts";

export interface IdempotencyEntry {
  key: string;
  /** Index of the entry that recorded it. */
  revision: number;
  /** Leader time of that entry: the result answers retries until timeMs + ttlMs. */
  timeMs: number;
  /** The result, MessagePack-encoded: compact, and stored in snapshots as is. */
  result: Uint8Array;
}

export interface IdempotencyLimits {
  idempotencyEntriesMax: number;
  idempotencyBytesMax: number;
  idempotencyTtlMs: number;
}

/** Per-entry bookkeeping counted against idempotencyBytesMax besides the result itself. */
const ENTRY_OVERHEAD_BYTES = 64;

const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

export class IdempotencyTable {
  // Map iteration order is insertion order = revision order: the front is the oldest entry.
  #entries = new Map<string, IdempotencyEntry>();
  #bytes = 0;
  readonly #limits: IdempotencyLimits;

  constructor(limits: IdempotencyLimits) {
    this.#limits = limits;
  }

  /** Rebuilds from entries in ascending revision order (a snapshot's order). */
  static fromEntries(entries: readonly IdempotencyEntry[], limits: IdempotencyLimits) {
    const table = new IdempotencyTable(limits);
    let revision = 0;
    for (const entry of entries) {
      assert(entry.revision > revision, "idempotency entries not in ascending revision order");
      assert(!table.#entries.has(entry.key), `idempotency key ${entry.key} twice`);
      revision = entry.revision;
      table.#insert(entry);
    }
    table.#evictOverLimits();
    return table;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes counted against idempotencyBytesMax. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Drops entries too old at leader time `nowMs`. Times are monotonic, so they are in front. */
  expire(nowMs: number): void {
    for (const entry of this.#entries.values()) {
      if (entry.timeMs + this.#limits.idempotencyTtlMs > nowMs) break;
      this.#evict(entry);
    }
  }

  /** The result recorded under `key`, or null. Call `expire` first. */
  lookup(key: string): CommandResult | null {
    const entry = this.#entries.get(key);
    return entry === undefined ? null : decodeResult(entry.result);
  }

  /** Records `result`; the oldest entries make room. One result over the byte cap is not kept. */
  record(key: string, revision: number, timeMs: number, result: CommandResult): void {
    const old = this.#entries.get(key);
    if (old !== undefined) this.#evict(old);
    this.#insert({ key, revision, timeMs, result: encoder.encode(result) });
    this.#evictOverLimits();
  }

  /** Every entry, oldest first. */
  entries(): IdempotencyEntry[] {
    return [...this.#entries.values()];
  }

  #insert(entry: IdempotencyEntry): void {
    this.#entries.set(entry.key, entry);
    this.#bytes += entryBytes(entry);
  }

  #evict(entry: IdempotencyEntry): void {
    this.#entries.delete(entry.key);
    this.#bytes -= entryBytes(entry);
  }

  #evictOverLimits(): void {
    for (const entry of this.#entries.values()) {
      const over = this.#entries.size > this.#limits.idempotencyEntriesMax ||
        this.#bytes > this.#limits.idempotencyBytesMax;
      if (!over) break;
      this.#evict(entry);
    }
  }
}

function entryBytes(entry: IdempotencyEntry): number {
  return ENTRY_OVERHEAD_BYTES + entry.key.length * 2 + entry.result.byteLength;
}

/** Stored results were encoded by `record` (or came in a snapshot): bad bytes are corruption. */
function decodeResult(bytes: Uint8Array): CommandResult {
  let raw: unknown;
  try {
    raw = decoder.decode(bytes);
  } catch (e) {
    assert(false, `corrupt idempotency result: ${e instanceof Error ? e.message : e}`);
  }
  const parsed = commandResultSchema.safeParse(raw);
  assert(parsed.success, `corrupt idempotency result: ${parsed.error?.issues[0]?.message}`);
  return parsed.data;
}
