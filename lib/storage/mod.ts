// The persistent Raft log: hard state, entries and snapshots (DESIGN.md "lib/storage").

export {
  EMPTY_HARD_STATE,
  type RaftStorage,
  SNAPSHOT_CHUNK_BYTES,
  type SnapshotId,
  type SnapshotInfo,
  StorageContractError,
  type StorageStats,
  type StoredState,
} from "./storage.ts";
export { KvStorage } from "./kv_storage.ts";
export { MemoryStorage } from "./memory_storage.ts";
export { StorageCorruptError } from "./kv_layout.ts";
