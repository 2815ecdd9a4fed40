// The in-memory twin of KvStorage: same semantics, nothing on disk. Everything it holds
// counts as durable; the simulator models the loss of unsynced writes on its own, so the
// synchronous API below stays trivial. Data is copied in and out: callers may not alias it.

import type { Entry, HardState, Snapshot } from "../raft/types.ts";
import {
  checkAppend,
  checkCompact,
  checkSnapshot,
  copyEntry,
  copyHardState,
  copyMeta,
  EMPTY_HARD_STATE,
  type LogShape,
  type RaftStorage,
  snapshotMatchesLog,
  statsOf,
  type StorageStats,
  type StoredState,
} from "./storage.ts";

export class MemoryStorage implements RaftStorage {
  #hardState: HardState = copyHardState(EMPTY_HARD_STATE);
  #snapshot: Snapshot | null = null;
  /** Entries after the snapshot, contiguous; #entries[i].index === snapIndex + 1 + i. */
  #entries: Entry[] = [];
  #commits = 0;

  // --- synchronous API (the deterministic simulator) ---

  loadSync(): StoredState {
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
