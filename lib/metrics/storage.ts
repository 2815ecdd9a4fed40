// Times the durable writes of a RaftStorage from the outside: each append (one Ready's entries
// and hard state) and each snapshot save resolves only once Deno KV's commits are on disk, so
// these latencies are what the Ready loop waits on (one WAL fsync per KV atomic commit).

import type { Entry, HardState, Snapshot, SnapshotMeta } from "../raft/types.ts";
import type {
  RaftStorage,
  SnapshotId,
  SnapshotInfo,
  StorageStats,
  StoredState,
} from "../storage/mod.ts";
import type { Histogram } from "./registry.ts";

export type StorageOp = "append" | "snapshot";

export class TimedStorage implements RaftStorage {
  constructor(
    private readonly inner: RaftStorage,
    private readonly latency: Histogram<"op">,
    private readonly now: () => number = () => performance.now(),
  ) {}

  load(): Promise<StoredState> {
    return this.inner.load();
  }

  append(entries: Entry[], hardState: HardState | null): Promise<void> {
    return this.timed("append", () => this.inner.append(entries, hardState));
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.timed("snapshot", () => this.inner.saveSnapshot(snapshot));
  }

  loadSnapshot(): Promise<Snapshot | null> {
    return this.inner.loadSnapshot();
  }

  snapshotInfo(): { current: SnapshotInfo | null; staged: SnapshotInfo | null } {
    return this.inner.snapshotInfo();
  }

  readSnapshot(id: SnapshotId, offset: number, maxBytes: number): Promise<Uint8Array | null> {
    return this.inner.readSnapshot(id, offset, maxBytes);
  }

  stageSnapshot(id: SnapshotId): Promise<number> {
    return this.inner.stageSnapshot(id);
  }

  writeStaged(id: SnapshotId, offset: number, data: Uint8Array): Promise<boolean> {
    return this.inner.writeStaged(id, offset, data);
  }

  installStaged(meta: SnapshotMeta, bytes: number): Promise<boolean> {
    return this.timed("snapshot", () => this.inner.installStaged(meta, bytes));
  }

  compact(index: number): Promise<void> {
    return this.inner.compact(index);
  }

  stats(): StorageStats {
    return this.inner.stats();
  }

  close(): void {
    this.inner.close();
  }

  private async timed<T>(op: StorageOp, write: () => Promise<T>): Promise<T> {
    const startMs = this.now();
    const result = await write();
    // Only successful writes: a failed one stops the node (fail-stop) anyway.
    this.latency.observe({ op }, (this.now() - startMs) / 1000);
    return result;
  }
}
