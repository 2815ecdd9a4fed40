// The in-memory twin of KvStorage: same semantics, nothing on disk. Everything it holds
// counts as durable; the simulator models the loss of unsynced writes on its own, so the
// synchronous API below stays trivial. Data is copied in and out: callers may not alias it.

import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/types.ts";
import {
  checkAppend,
  checkChunkRange,
  checkCompact,
  checkSnapshot,
  copyEntry,
  copyHardState,
  copyMeta,
  EMPTY_HARD_STATE,
  type LogShape,
  type RaftStorage,
  sameSnapshot,
  type SnapshotId,
  type SnapshotInfo,
  snapshotMatchesLog,
  stagedComplete,
  stagedWritable,
  statsOf,
  type StorageStats,
  type StoredState,
} from "./storage.ts";
import { concatBytes } from "../bytes.ts";

export class MemoryStorage implements RaftStorage {
  #hardState: HardState = copyHardState(EMPTY_HARD_STATE);
  #snapshot: Snapshot | null = null;
  /** Entries after the snapshot, contiguous; #entries[i].index === snapIndex + 1 + i. */
  #entries: Entry[] = [];
  #commits = 0;
  #staged: { info: SnapshotInfo; chunks: Uint8Array[] } | null = null;

  // --- synchronous API (the deterministic simulator) ---

  loadSync(): StoredState {
    // As after a restart from disk: a staged snapshot our own has overtaken is not kept.
    if (this.#staged && this.#staged.info.index <= (this.#snapshot?.meta.index ?? 0)) {
      this.#staged = null;
    }
    return {
      hardState: copyHardState(this.#hardState),
      snapshot: this.#snapshot === null ? null : copyMeta(this.#snapshot.meta),
      entries: this.#entries.map(copyEntry),
    };
  }

  appendSync(entries: Entry[], hardState: HardState | null): void {
    checkAppend(this.#shape(), entries);
    if (entries.length > 0) {
      const keep = entries[0].index - this.#snapIndex() - 1;
      this.#entries.length = keep; // drops the replaced suffix
      for (const e of entries) this.#entries.push(copyEntry(e));
    }
    if (hardState !== null) this.#hardState = copyHardState(hardState);
    this.#commits++;
  }

  saveSnapshotSync(snapshot: Snapshot): void {
    const shape = this.#shape();
    checkSnapshot(shape, snapshot.meta);
    const matches = snapshotMatchesLog(shape, snapshot.meta);
    const drop = matches ? snapshot.meta.index - shape.snapIndex : this.#entries.length;
    this.#entries = this.#entries.slice(drop);
    this.#snapshot = { meta: copyMeta(snapshot.meta), data: snapshot.data.slice() };
    this.#commits++;
  }

  loadSnapshotSync(): Snapshot | null {
    if (this.#snapshot === null) return null;
    return { meta: copyMeta(this.#snapshot.meta), data: this.#snapshot.data.slice() };
  }

  /** The log never holds entries at or below the snapshot, so this only checks the bound. */
  compactSync(index: number): void {
    checkCompact(this.#shape(), index);
  }

  snapshotInfo(): { current: SnapshotInfo | null; staged: SnapshotInfo | null } {
    const s = this.#snapshot;
    const current = s && { index: s.meta.index, term: s.meta.term, bytes: s.data.length };
    return { current, staged: this.#staged && { ...this.#staged.info } };
  }

  readSnapshotSync(id: SnapshotId, offset: number, maxBytes: number): Uint8Array | null {
    checkChunkRange(offset, maxBytes);
    const s = this.#snapshot;
    if (s !== null && sameSnapshot(s.meta, id)) return s.data.slice(offset, offset + maxBytes);
    const staged = this.#staged;
    if (staged === null || !sameSnapshot(staged.info, id)) return null;
    return concatBytes(staged.chunks).slice(offset, offset + maxBytes);
  }

  stageSnapshotSync(id: SnapshotId): number {
    if (!sameSnapshot(this.#staged?.info ?? null, id)) {
      this.#staged = { info: { index: id.index, term: id.term, bytes: 0 }, chunks: [] };
      this.#commits++;
    }
    return this.#staged!.info.bytes;
  }

  writeStagedSync(id: SnapshotId, offset: number, data: Uint8Array): boolean {
    const staged = this.#staged;
    if (!stagedWritable(staged?.info ?? null, id, offset)) return false;
    staged!.chunks.push(data.slice());
    staged!.info.bytes += data.length;
    this.#commits++;
    return true;
  }

  installStagedSync(meta: SnapshotMeta, bytes: number): boolean {
    const staged = this.#staged;
    if (!stagedComplete(staged?.info ?? null, meta, bytes)) return false;
    this.saveSnapshotSync({ meta, data: concatBytes(staged!.chunks) });
    this.#staged = null;
    return true;
  }

  // --- RaftStorage (async; settles after the synchronous work, errors reject) ---

  load(): Promise<StoredState> {
    return settle(() => this.loadSync());
  }

  append(entries: Entry[], hardState: HardState | null): Promise<void> {
    return settle(() => this.appendSync(entries, hardState));
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return settle(() => this.saveSnapshotSync(snapshot));
  }

  loadSnapshot(): Promise<Snapshot | null> {
    return settle(() => this.loadSnapshotSync());
  }

  readSnapshot(id: SnapshotId, offset: number, maxBytes: number): Promise<Uint8Array | null> {
    return settle(() => this.readSnapshotSync(id, offset, maxBytes));
  }

  stageSnapshot(id: SnapshotId): Promise<number> {
    return settle(() => this.stageSnapshotSync(id));
  }

  writeStaged(id: SnapshotId, offset: number, data: Uint8Array): Promise<boolean> {
    return settle(() => this.writeStagedSync(id, offset, data));
  }

  installStaged(meta: SnapshotMeta, bytes: number): Promise<boolean> {
    return settle(() => this.installStagedSync(meta, bytes));
  }

  compact(index: number): Promise<void> {
    return settle(() => this.compactSync(index));
  }

  stats(): StorageStats {
    return statsOf(this.#shape(), this.#commits, 0);
  }

  close(): void {}

  #snapIndex(): number {
    return this.#snapshot?.meta.index ?? 0;
  }

  #shape(): LogShape {
    const snapIndex = this.#snapIndex();
    const entries = this.#entries;
    return {
      snapIndex,
      snapTerm: this.#snapshot?.meta.term ?? 0,
      lastIndex: snapIndex + entries.length,
      entryTerm: (index) => entries[index - snapIndex - 1].term,
    };
  }
}

function settle<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (err) {
    return Promise.reject(err);
  }
}
