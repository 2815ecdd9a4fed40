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

/** Identifies a snapshot: the index and term of the last entry it covers. */
export interface SnapshotId {
  index: number;
  term: number;
}

/** A snapshot's identity and size; for a staged one, the bytes staged so far. */
export interface SnapshotInfo extends SnapshotId {
  bytes: number;
}

/**
 * Snapshot data is read and staged in units of this many bytes (Deno KV's value limit): read
 * offsets and sizes are multiples of it, and so is every staged write but the last.
 */
export const SNAPSHOT_CHUNK_BYTES = 65_536;

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
  /** The current snapshot and the staged one, as left by the calls completed so far. */
  snapshotInfo(): { current: SnapshotInfo | null; staged: SnapshotInfo | null };
  /** Up to `maxBytes` of snapshot `id`'s data from `offset` (both multiples of
   * SNAPSHOT_CHUNK_BYTES): the current snapshot's, or else the staged one's as far as it is
   * staged. Empty at the end; null if neither is `id`. */
  readSnapshot(id: SnapshotId, offset: number, maxBytes: number): Promise<Uint8Array | null>;
  // Staging: a snapshot arriving from the leader is written here piece by piece, survives a
  // restart, and becomes the current snapshot with installStaged. One staged at a time.
  /** Starts staging `id`, or resumes it: if `id` is staged already its bytes are kept,
   * otherwise whatever else is staged is discarded. Resolves to the bytes staged (durable). */
  stageSnapshot(id: SnapshotId): Promise<number>;
  /** Appends `data` to the staged `id` at `offset`; resolves true once durable, false (and
   * writes nothing) when `id` is not staged or `offset` is not its staged byte count. */
  writeStaged(id: SnapshotId, offset: number, data: Uint8Array): Promise<boolean>;
  /** Makes the staged snapshot the current one, exactly as saveSnapshot would with its data,
   * if it is `meta`'s and `bytes` long; nothing is staged afterwards. Resolves false, changing
   * nothing, when something else is staged (a newer transfer may have replaced it). */
  installStaged(meta: SnapshotMeta, bytes: number): Promise<boolean>;
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

export function checkChunkRange(offset: number, maxBytes: number): void {
  const aligned = (n: number) => Number.isSafeInteger(n) && n % SNAPSHOT_CHUNK_BYTES === 0;
  if (!aligned(offset) || offset < 0 || !aligned(maxBytes) || maxBytes <= 0) {
    throw new StorageContractError(
      `snapshot read at ${offset}+${maxBytes}: not whole chunks of ${SNAPSHOT_CHUNK_BYTES}`,
    );
  }
}

export function sameSnapshot(a: SnapshotId | null, b: SnapshotId): boolean {
  return a !== null && a.index === b.index && a.term === b.term;
}

/** Whether `data` may be staged at `offset` after `staged` (false: superseded or misplaced);
 * throws when an earlier short write already ended the staged data. */
export function stagedWritable(staged: SnapshotInfo | null, id: SnapshotId, offset: number) {
  if (!sameSnapshot(staged, id) || offset !== staged!.bytes) return false;
  if (offset % SNAPSHOT_CHUNK_BYTES !== 0) {
    throw new StorageContractError(
      `staged snapshot ${id.index}/${id.term} already ended with a short write at ${offset}`,
    );
  }
  return true;
}

/** Whether `staged` is snapshot `meta`, complete at `bytes`. */
export function stagedComplete(
  staged: SnapshotInfo | null,
  meta: SnapshotMeta,
  bytes: number,
): boolean {
  return sameSnapshot(staged, meta) && staged!.bytes === bytes;
}

export function checkCompact(log: LogShape, index: number): void {
  if (index > log.snapIndex) {
    throw new StorageContractError(
      `compact(${index}) beyond the snapshot at ${log.snapIndex} would leave a gap`,
    );
  }
}

/** True when the log holds the snapshot's last entry, so entries after it stay valid. */
export function snapshotMatchesLog(log: LogShape, meta: SnapshotId): boolean {
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
