// The in-memory Raft log: entries after the last snapshot, what is committed and applied,
// what still has to be persisted, and the configuration at every index (§4.1: a server uses
// the latest configuration in its log, committed or not).

import { assert } from "./assert.ts";
import { applyConfChange, decodeConfChange, decodeConfigAfter } from "./confchange.ts";
import type { ConfigState, Entry, SnapshotMeta } from "./types.ts";

interface ConfigPoint {
  index: number;
  config: ConfigState;
}

export class RaftLog {
  /** The snapshot the log starts after (index 0 / term 0 for an empty log). */
  snapshot: SnapshotMeta;
  private entries: Entry[] = [];
  commitIndex: number;
  /** lastApplied (Figure 2): the highest index handed to the state machine and applied. */
  lastApplied: number;
  /** The lowest index not yet persisted. */
  unstableFrom: number;
  /** The lowest index not yet handed to the shell to write (≥ unstableFrom): entries from
   * here on go into the next Ready that persists. Between the two: writes in flight. */
  writeFrom: number;
  /** Configuration entries in the log, ascending by index. */
  private configs: ConfigPoint[] = [];

  constructor(snapshot: SnapshotMeta, entries: Entry[], commitIndex: number) {
    this.snapshot = snapshot;
    this.commitIndex = Math.max(commitIndex, snapshot.index);
    this.lastApplied = snapshot.index;
    this.appendUnchecked(entries);
    this.unstableFrom = this.lastIndex() + 1;
    this.writeFrom = this.unstableFrom;
    assert(this.commitIndex <= this.lastIndex(), "restored commitIndex beyond the log");
  }

  firstIndex(): number {
    return this.snapshot.index + 1;
  }

  lastIndex(): number {
    return this.snapshot.index + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`, or undefined if it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshot.index - 1].term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  entry(index: number): Entry {
    assert(index > this.snapshot.index && index <= this.lastIndex(), `no entry ${index}`);
    return this.entries[index - this.snapshot.index - 1];
  }

  /** Entries [from, to] inclusive, capped by count and bytes (at least one if any). */
  slice(from: number, to: number, maxCount = Infinity, maxBytes = Infinity): Entry[] {
    assert(from > this.snapshot.index, `slice from compacted index ${from}`);
    const last = Math.min(to, this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = from; i <= last && out.length < maxCount; i++) {
      const e = this.entries[i - this.snapshot.index - 1];
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** True if a log ending at (index, term) is at least as up-to-date as ours (§3.6.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** The largest index ≤ `index` whose term is ≤ `term`: where a follower's log and a
   * leader's can first agree, used to skip a whole conflicting term in one round trip. */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    while (i > this.snapshot.index) {
      const t = this.term(i);
      if (t !== undefined && t <= term) return i;
      i--;
    }
    return this.snapshot.index;
  }

  /** Leader-side append of new entries at the end. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    assert(entries[0].index === this.lastIndex() + 1, "append leaves a gap");
    this.appendUnchecked(entries);
  }

  /** Follower-side append after prevLogIndex matched: skips entries we already have,
   * truncates at the first conflict. Returns the index of the last new entry. */
  maybeAppend(prevLogIndex: number, entries: Entry[]): number {
    const lastNew = prevLogIndex + entries.length;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k];
      assert(e.index === prevLogIndex + 1 + k, "append entries are not contiguous");
      if (e.index <= this.snapshot.index) continue; // already compacted: committed, matches
      if (this.term(e.index) === e.term) continue;
      assert(e.index > this.commitIndex, `conflict at committed index ${e.index}`);
      this.truncateFrom(e.index);
      this.appendUnchecked(entries.slice(k));
      break;
    }
    return lastNew;
  }

  commitTo(index: number): boolean {
    if (index <= this.commitIndex) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.commitIndex = index;
    return true;
  }

  appliedTo(index: number): void {
    assert(index <= this.commitIndex, `applied ${index} beyond commit ${this.commitIndex}`);
    if (index > this.lastApplied) this.lastApplied = index;
  }

  /** Persistence of everything up to (index, term) finished; ignored if the log has since
   * been rewritten at that index. */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index >= this.unstableFrom) this.unstableFrom = index + 1;
    if (this.writeFrom < this.unstableFrom) this.writeFrom = this.unstableFrom;
  }

  /** Entries not yet persisted, written or not. */
  unstableEntries(): Entry[] {
    if (this.unstableFrom > this.lastIndex()) return [];
    return this.entries.slice(this.unstableFrom - this.snapshot.index - 1);
  }

  /** True if some entry has not been handed to the shell to write yet. */
  hasEntriesToWrite(): boolean {
    return this.writeFrom <= this.lastIndex();
  }

  /** Entries not yet handed to the shell to write. */
  entriesToWrite(): Entry[] {
    if (this.writeFrom > this.lastIndex()) return [];
    return this.entries.slice(this.writeFrom - this.snapshot.index - 1);
  }

  /** Entries up to `index` are being written (stableTo follows when they are durable). */
  writingTo(index: number): void {
    if (index >= this.writeFrom) this.writeFrom = index + 1;
  }

  /** The last index known to be on this server's disk. */
  stableIndex(): number {
    return this.unstableFrom - 1;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(meta: SnapshotMeta): void {
    assert(meta.index > this.commitIndex, "restoring a snapshot older than commitIndex");
    this.snapshot = meta;
    this.entries = [];
    this.configs = [];
    this.commitIndex = meta.index;
    this.unstableFrom = meta.index + 1;
    this.writeFrom = meta.index + 1;
  }

  /** Drops entries up to `index` (covered by a snapshot the shell has saved). */
  compact(index: number): SnapshotMeta {
    assert(index <= this.lastApplied, `compacting unapplied index ${index}`);
    if (index <= this.snapshot.index) return this.snapshot;
    const meta: SnapshotMeta = {
      index,
      term: this.term(index)!,
      config: this.configAt(index),
    };
    this.entries = this.entries.slice(index - this.snapshot.index);
    this.configs = this.configs.filter((p) => p.index > index);
    this.snapshot = meta;
    if (this.unstableFrom <= index) this.unstableFrom = index + 1;
    if (this.writeFrom <= index) this.writeFrom = index + 1;
    return meta;
  }

  /** The configuration in force at `index` (the latest config entry at or before it). */
  configAt(index: number): ConfigState {
    for (let k = this.configs.length - 1; k >= 0; k--) {
      if (this.configs[k].index <= index) return this.configs[k].config;
    }
    return this.snapshot.config;
  }

  config(): ConfigState {
    return this.configAt(this.lastIndex());
  }

  /** Index of the latest config entry (the snapshot index if there is none in the log). */
  lastConfigIndex(): number {
    return this.configs.length > 0 ? this.configs[this.configs.length - 1].index : 0;
  }

  private truncateFrom(index: number): void {
    this.entries = this.entries.slice(0, index - this.snapshot.index - 1);
    this.configs = this.configs.filter((p) => p.index < index);
    if (this.unstableFrom > index) this.unstableFrom = index;
    if (this.writeFrom > index) this.writeFrom = index;
  }

  private appendUnchecked(entries: Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1, `entry ${e.index} is not next`);
      assert(e.term >= this.lastTerm(), `entry ${e.index} has a term lower than its predecessor`);
      this.entries.push(e);
      if (e.type === "config") {
        // Prefer the whole configuration the entry carries (encodeConfigEntry); entries
        // without one are applied as a change to the configuration before them.
        const prev = this.config();
        const change = decodeConfChange(e.data);
        const config = decodeConfigAfter(e.data) ??
          (change ? applyConfChange(prev, change) : prev);
        this.configs.push({ index: e.index, config });
      }
    }
  }
}
