// Simulated stable storage. A write becomes durable only when the simulator syncs it; a crash
// before that loses it, as a real disk loses what was never fsynced.

import type { Entry, HardState, Snapshot } from "../../lib/raft/mod.ts";

export interface DiskWrite {
  entries: Entry[];
  hardState: HardState | null;
  snapshot: Snapshot | null;
}

export class SimDisk {
  hardState: HardState = { term: 0, votedFor: null, commitIndex: 0 };
  snapshot: Snapshot | null = null;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[] = [];

  private firstIndex(): number {
    return (this.snapshot?.meta.index ?? 0) + 1;
  }

  /** Applies one Ready's write durably, with the storage interface's semantics. */
  sync(w: DiskWrite): void {
    if (w.snapshot) this.saveSnapshot(w.snapshot);
    if (w.entries.length > 0) {
      const from = w.entries[0].index;
      const keep = Math.max(0, from - this.firstIndex());
      if (from < this.firstIndex()) {
        const skip = this.firstIndex() - from;
        this.entries = [...w.entries.slice(skip)];
      } else {
        if (from - this.firstIndex() > this.entries.length) {
          throw new Error(`disk write leaves a gap at ${from}`);
        }
        this.entries = [...this.entries.slice(0, keep), ...w.entries];
      }
    }
    if (w.hardState) this.hardState = { ...w.hardState };
  }

  saveSnapshot(s: Snapshot): void {
    const i = s.meta.index - this.firstIndex();
    const matches = i >= 0 && i < this.entries.length && this.entries[i].term === s.meta.term;
    this.entries = matches ? this.entries.slice(i + 1) : [];
    this.snapshot = s;
  }
}
