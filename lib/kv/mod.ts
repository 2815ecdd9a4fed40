// The replicated key-value state machine's public face (API.md §3): commands carried in Raft
// log entries, the deterministic state machine that applies them, its results, watch events
// and snapshots; and the watch hub (a bounded window of recent events that watchers read).
//
// How the shell drives it:
// - The leader builds a Command, stamps `time` (its clock, never below `machine.clockMs`) and a
//   unique `reqId`, and proposes `encodeCommand(command)` as a `normal` entry.
// - Every replica applies committed entries in index order: `apply(index, data)` for `normal`
//   entries, `applyNoop(index)` for `noop` and `config` entries. The returned Applied carries
//   the reqId (to answer the waiting client), the result and the watch events.
// - Revisions: a write's revision is its entry's index. `revision` is the store's revision
//   (last index that changed the key space); `appliedIndex` is the last index applied. Wait
//   on `appliedIndex` for ReadIndex and `?minRevision`.
// - Reads pass the node's view of leader time; keys with expiresAt <= max(nowMs, clockMs) are
//   hidden. The leader proposes a `sweep` when `nextExpiresAt()` has passed (again at once if
//   the result says `more`).
// - All replicas must use the same KvLimits.

export {
  type Command,
  COMMAND_VERSION,
  type CommandType,
  type Compare,
  type CompareOp,
  decodeCommand,
  type DecodeCommandResult,
  type DeleteCommand,
  encodeCommand,
  idempotencyKeyLengthMax,
  type PutCommand,
  reqIdLengthMax,
  type SweepCommand,
  ttlMsMax,
  type TxnCommand,
  type TxnOp,
} from "./commands.ts";
export type { KvEvent, KvEventType } from "./events.ts";
export { compareKeys, keyProblem, utf8Length } from "./keys.ts";
export { defaultKvLimits, type KvLimits } from "./limits.ts";
export type {
  Applied,
  CommandResult,
  CommandResultType,
  DeleteResult,
  ErrorResult,
  FailedReason,
  FailedResult,
  InvalidResult,
  KeyValue,
  PutResult,
  SweepResult,
  TxnOpResult,
  TxnResult,
} from "./results.ts";
export { SnapshotError } from "./snapshot.ts";
export {
  KvStateMachine,
  type RangeItem,
  type RangeQuery,
  type RangeResult,
} from "./state_machine.ts";
export {
  type ChangedResult,
  defaultWatchHubOptions,
  parseWatchId,
  type SubscribeResult,
  type WatchCursor,
  type WatchEnd,
  WatchHub,
  type WatchHubOptions,
  watchId,
  type WatchItem,
  type WatchSubscription,
} from "./watch_hub.ts";
