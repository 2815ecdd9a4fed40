// Backup and restore (API.md §3 `GET /v1/snapshot`, `deno task restore`): the backup file
// format, the HTTP route that streams one, and the command that builds a new cluster from it.

export {
  type Backup,
  BACKUP_BYTES_MAX,
  BACKUP_DIGEST_BYTES,
  BACKUP_HEADER_BYTES,
  BACKUP_MAGIC,
  BACKUP_VERSION,
  backupFileName,
  type BackupInfo,
  decodeBackup,
  type DecodeBackupResult,
  encodeBackup,
} from "./format.ts";
export { BACKUP_CHUNK_BYTES, registerBackupRoutes } from "./snapshot_route.ts";
export {
  parseRestoreArgs,
  RESTORE_USAGE,
  type RestoreArgs,
  type RestoreArgsResult,
  runRestore,
} from "./restore.ts";
export {
  checkTarget,
  DATA_FILES,
  RESTORED_TERM,
  restoredConfig,
  restoredState,
  type TargetCheck,
  writeNodeData,
} from "./restore_data.ts";
