// The key space: records by key, plus two indexes derived from them (never serialized): the
// keys in UTF-8 byte order for ranges, and (expiresAt, key) in order for sweeps.

import { compareKeys } from "./keys.ts";
import type { KeyValue } from "./results.ts";
import { SortedSet } from "./sorted_set.ts";
import { assert } from "./assert.ts";

interface ExpiryItem {
  expiresAt: number;
  key: string;
}

function compareExpiry(a: ExpiryItem, b: ExpiryItem): number {
  return a.expiresAt - b.expiresAt || compareKeys(a.key, b.key);
}

/** True when `kv` has expired at leader time `timeMs`. */
export function isExpired(kv: KeyValue, timeMs: number): boolean {
  return kv.expiresAt !== null && kv.expiresAt <= timeMs;
}

export class KeySpace {
  // Records are frozen and replaced on every write, so a caller holding one cannot change
  // the replicated state through it (the value bytes excepted: typed arrays cannot be frozen).
  #records = new Map<string, KeyValue>();
  #keys: SortedSet<string>;
  #expiry = new SortedSet<ExpiryItem>(compareExpiry);

  constructor(keys: SortedSet<string> = new SortedSet(compareKeys)) {
    this.#keys = keys;
  }

  /** Rebuilds from records in strictly ascending key order (throws otherwise). */
  static fromSorted(records: readonly KeyValue[]): KeySpace {
    const keys = SortedSet.fromSorted(records.map((kv) => kv.key), compareKeys);
    const space = new KeySpace(keys);
    const expiring: ExpiryItem[] = [];
    for (const kv of records) {
      space.#records.set(kv.key, Object.freeze(kv));
      if (kv.expiresAt !== null) expiring.push({ expiresAt: kv.expiresAt, key: kv.key });
    }
    space.#expiry = SortedSet.fromSorted(expiring.sort(compareExpiry), compareExpiry);
    return space;
  }

  /** Keys held, expired ones not yet removed included. */
  get size(): number {
    return this.#records.size;
  }

  /** The record whatever its expiry. */
  get(key: string): KeyValue | undefined {
    return this.#records.get(key);
  }

  /** The record if present and not expired at `timeMs`. */
  live(key: string, timeMs: number): KeyValue | null {
    const kv = this.#records.get(key);
    return kv === undefined || isExpired(kv, timeMs) ? null : kv;
  }

  /** Inserts or replaces the record for `kv.key`. */
  set(kv: KeyValue): void {
    const old = this.#records.get(kv.key);
    if (old === undefined) this.#keys.insert(kv.key);
    else if (old.expiresAt !== null) {
      this.#expiry.delete({ expiresAt: old.expiresAt, key: old.key });
    }
    if (kv.expiresAt !== null) this.#expiry.insert({ expiresAt: kv.expiresAt, key: kv.key });
    this.#records.set(kv.key, Object.freeze(kv));
  }

  /** Removes `key`; the old record, or undefined if there was none. */
  remove(key: string): KeyValue | undefined {
    const old = this.#records.get(key);
    if (old === undefined) return undefined;
    this.#records.delete(key);
    assert(this.#keys.delete(key), `key index lost ${JSON.stringify(key)}`);
    if (old.expiresAt !== null) this.#expiry.delete({ expiresAt: old.expiresAt, key });
    return old;
  }

  /** Earliest expiry among held keys, or null. */
  nextExpiresAt(): number | null {
    return this.#expiry.first()?.expiresAt ?? null;
  }

  /** Up to `max` keys expired at `timeMs`, earliest expiry first (ties by key). */
  expiredKeys(timeMs: number, max: number): string[] {
    const keys: string[] = [];
    for (const item of this.#expiry.from(null)) {
      if (item.expiresAt > timeMs || keys.length === max) break;
      keys.push(item.key);
    }
    return keys;
  }

  /** Records in key order starting at `start` (exclusive when asked), expired ones included. */
  *from(start: string | null, exclusive: boolean): Generator<KeyValue> {
    for (const key of this.#keys.from(start, exclusive)) {
      const kv = this.#records.get(key);
      assert(kv !== undefined, `key index has ${JSON.stringify(key)} without a record`);
      yield kv;
    }
  }
}
