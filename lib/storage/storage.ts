// The persistent Raft log: one interface, two implementations (Deno KV and memory) held
// together by contract_test.ts. Both share the argument checks below so that they accept
// and refuse exactly the same calls.

import type { ConfigState, Entry, HardState, Snapshot, SnapshotMeta } from "../raft/types.ts";

/** What a node restarts from. */
export interface StoredState {
  hardState: HardState;
  snapshot: SnapshotMeta | null;
  /** Entries after `snapshot.index` (or from 1), contiguous. */
  entries: Entry[];
}

export interface StorageStats {
  /** Entries held in the log (after the snapshot). */
  entries: number;
  /** Index of the first entry the log can hold: snapshot index + 1. */
  firstIndex: number;
  /** Index of the last entry, or the snapshot index when the log is empty. */
  lastIndex: number;
  /** Durable commits made (KV atomic commits; one per mutating call for memory). */
  commits: number;
  /** Total time spent waiting for those commits. */
  commitMsTotal: number;
}

export interface RaftStorage {
  /** Everything needed to restart the core. Entries after snapshot.index, contiguous;
   * anything after a gap or torn write is ignored (and removed from disk). */
  load(): Promise<StoredState>;
  /** Durably persist one Ready's worth: if `entries` is non-empty, every stored entry with
   * index >= entries[0].index is replaced (conflicting suffix truncated, including stored
   * entries beyond the new last index); then hardState if given. Resolves only once durable.
   * entries[0].index must lie in [firstIndex, lastIndex + 1] and entries must be contiguous.
   * The caller must not mutate the entries' data before the promise settles. */
  append(entries: Entry[], hardState: HardState | null): Promise<void>;
  /** Durably store a snapshot (meta + data), then drop log entries with index <= meta.index.
   * If the log has no entry at meta.index with meta.term, the whole log is dropped (a
   * snapshot received from the leader replaces it). meta.index must not go backwards. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** The latest snapshot with its data, or null. */
  loadSnapshot(): Promise<Snapshot | null>;
  /** Drop log entries with index <= index. `index` must be <= the snapshot index; since
   * saveSnapshot already compacts, this only checks the bound today. */
  compact(index: number): Promise<void>;
  stats(): StorageStats;
  /** Releases the handle. Await every pending call first. */
  close(): void;
}

export const EMPTY_HARD_STATE: Readonly<HardState> = Object.freeze({
  term: 0,
  votedFor: null,
  commitIndex: 0,
});

/** Thrown on a call that breaks the storage contract: a bug in the caller (fail-stop). */
export class StorageContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageContractError";
  }
}

/** What both implementations know about their log, enough to check calls. */
export interface LogShape {
  snapIndex: number;
  snapTerm: number;
  lastIndex: number;
  /** Term of a log entry; only called with snapIndex < index <= lastIndex. */
  entryTerm(index: number): number;
}

/** Term of the entry at `index`, counting the snapshot's last entry; undefined if unknown. */
export function termAt(log: LogShape, index: number): number | undefined {
  if (index === log.snapIndex) return log.snapTerm;
  if (index < log.snapIndex || index > log.lastIndex) return undefined;
  return log.entryTerm(index);
}

export function checkAppend(log: LogShape, entries: Entry[]): void {
  if (entries.length === 0) return;
  const first = entries[0].index;
  const last = log.lastIndex;
  if (first <= log.snapIndex || first > last + 1) {
    throw new StorageContractError(
      `append at ${first} outside [${log.snapIndex + 1}, ${last + 1}]`,
    );
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.index !== first + i) {
      throw new StorageContractError(`append: entry ${i} has index ${e.index}, want ${first + i}`);
    }
    if (!Number.isSafeInteger(e.term) || e.term < 0) {
      throw new StorageContractError(`append: bad term ${e.term} at ${e.index}`);
    }
  }
}

export function checkSnapshot(log: LogShape, meta: SnapshotMeta): void {
  const replay = meta.index === log.snapIndex && meta.term === log.snapTerm;
  if (meta.index <= log.snapIndex && !replay) {
    throw new StorageContractError(
      `snapshot at ${meta.index}/${meta.term} behind stored ${log.snapIndex}/${log.snapTerm}`,
    );
  }
}

export function checkCompact(log: LogShape, index: number): void {
  if (index > log.snapIndex) {
    throw new StorageContractError(
      `compact(${index}) beyond the snapshot at ${log.snapIndex} would leave a gap`,
    );
  }
}

/** True when the log holds the snapshot's last entry, so entries after it stay valid. */
export function snapshotMatchesLog(log: LogShape, meta: SnapshotMeta): boolean {
  return termAt(log, meta.index) === meta.term;
}

export function statsOf(log: LogShape, commits: number, commitMsTotal: number): StorageStats {
  return {
    entries: log.lastIndex - log.snapIndex,
    firstIndex: log.snapIndex + 1,
    lastIndex: log.lastIndex,
    commits,
    commitMsTotal,
  };
}

export function copyEntry(e: Entry): Entry {
  return { term: e.term, index: e.index, type: e.type, data: e.data.slice() };
}

export function copyHardState(hs: HardState): HardState {
  return { term: hs.term, votedFor: hs.votedFor, commitIndex: hs.commitIndex };
}

export function copyMeta(meta: SnapshotMeta): SnapshotMeta {
  return {
    index: meta.index,
    term: meta.term,
    config: copyConfig(meta.config),
  };
}

/** A deep copy of a configuration, member contexts (addresses) included. */
export function copyConfig(c: ConfigState): ConfigState {
  return {
    voters: [...c.voters],
    learners: [...c.learners],
    ...(c.contexts ? { contexts: { ...c.contexts } } : {}),
  };
}
