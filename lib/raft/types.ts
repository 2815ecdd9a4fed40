// The vocabulary of the Raft core. Names follow the Raft paper and dissertation.
// Everything here is plain data: it crosses the wire (msgpack) and the disk (Deno KV).

export type NodeId = string;

/** What an entry carries. `noop` opens each leader's term; `config` is a ConfChange. */
export type EntryType = "normal" | "config" | "noop";

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to the core for `normal`; `encodeConfChange` bytes for `config`; empty for `noop`. */
  data: Uint8Array;
}

/** Durable per-node state (Figure 2: currentTerm, votedFor) plus commitIndex as a hint. */
export interface HardState {
  term: number;
  votedFor: NodeId | null;
  commitIndex: number;
}

/** Cluster membership. Learners receive the log but neither vote nor count for commitment. */
export interface ConfigState {
  voters: NodeId[];
  learners: NodeId[];
  /** Opaque per-member data carried with the configuration (the shell keeps addresses here,
   * so a node that learns the configuration from a snapshot also learns how to reach it). */
  contexts?: Record<NodeId, string>;
}

/** One-server-at-a-time membership change (dissertation §4.1). */
export type ConfChange =
  | { type: "addLearner"; id: NodeId; context: string }
  | { type: "promote"; id: NodeId }
  | { type: "remove"; id: NodeId };

/** Describes the state-machine image that replaces log entries up to and including `index`. */
export interface SnapshotMeta {
  index: number;
  term: number;
  config: ConfigState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine image. Opaque to the core. */
  data: Uint8Array;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader" | "learner";

// ---------------------------------------------------------------------------
// Messages. Every message has from/to/term; `term` 0 is never used on the wire.

interface MessageBase {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** RequestVote (§3.4) and its pre-vote twin (§9.6). For preVote, `term` is the term the
 * sender would campaign in; the sender has not incremented its own term. */
export interface VoteRequest extends MessageBase {
  type: "vote" | "preVote";
  lastLogIndex: number;
  lastLogTerm: number;
  /** Set when the campaign follows TimeoutNow (§3.10): bypasses the leader-lease check. */
  transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  type: "voteResp" | "preVoteResp";
  granted: boolean;
}

/** AppendEntries (§3.5). */
export interface AppendRequest extends MessageBase {
  type: "append";
  prevLogIndex: number;
  prevLogTerm: number;
  entries: Entry[];
  commitIndex: number;
}

/** Ack of an append or a snapshot. On success `matchIndex` is the last index known to match.
 * On rejection `rejectIndex` is the prevLogIndex that failed and (`hintIndex`, `hintTerm`)
 * let the leader skip a whole term of conflicting entries at once. */
export interface AppendResponse extends MessageBase {
  type: "appendResp";
  success: boolean;
  matchIndex: number;
  rejectIndex: number;
  hintIndex: number;
  hintTerm: number;
}

/** Leader's heartbeat. `commitIndex` is capped at the follower's matchIndex; `readSeq` carries
 * the newest ReadIndex round so one heartbeat round confirms a batch of reads (§6.4). */
export interface Heartbeat extends MessageBase {
  type: "heartbeat";
  commitIndex: number;
  readSeq: number;
}

export interface HeartbeatResponse extends MessageBase {
  type: "heartbeatResp";
  readSeq: number;
}

/** InstallSnapshot. The core deals in metadata; the shell attaches `data` when sending
 * (streamed in chunks by the transport) and the receiver's shell fills it in before `step`. */
export interface SnapshotRequest extends MessageBase {
  type: "snapshot";
  snapshot: Snapshot;
}

/** Leadership transfer (§3.10): the target starts an election at once. */
export interface TimeoutNow extends MessageBase {
  type: "timeoutNow";
}

/** A follower asks the leader for a read index on behalf of its clients (§6.4). */
export interface ReadIndexRequest extends MessageBase {
  type: "readIndex";
  ctx: number;
}

/** `index` is 0 when the leader refused (e.g. it lost leadership). */
export interface ReadIndexResponse extends MessageBase {
  type: "readIndexResp";
  ctx: number;
  index: number;
}

/** A follower forwards client proposals to the leader. */
export interface ProposeRequest extends MessageBase {
  type: "propose";
  entries: { type: EntryType; data: Uint8Array }[];
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotRequest
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse
  | ProposeRequest;

export type MessageType = Message["type"];

// ---------------------------------------------------------------------------
// What the core hands to its shell.

/** A ReadIndex result: once the local state machine has applied `index`, a read for `ctx`
 * is linearizable. `index` 0 means the request failed (no leader, leadership lost): retry. */
export interface ReadState {
  ctx: number;
  index: number;
}

export interface SoftState {
  role: Role;
  leader: NodeId | null;
}

/**
 * One batch of work. The shell must, in order:
 * 1. persist `snapshot` (if any), then `entries` (replacing any stored entries at index ≥
 *    entries[0].index), then `hardState` (if any) — durably;
 * 2. send `messages`;
 * 3. apply `snapshot` (if any), then `committedEntries`, to the state machine;
 * 4. call `advance(ready)`.
 * A leader may send its `append` messages before its own write is durable (§10.2.1): it
 * counts itself towards commitment only from `advance` on.
 */
export interface Ready {
  softState: SoftState | null;
  hardState: HardState | null;
  entries: Entry[];
  snapshot: Snapshot | null;
  messages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
}

export type ProposeResult =
  | { type: "ok"; index: number; term: number } // appended locally as leader
  | { type: "forwarded"; to: NodeId } // sent to the leader; watch applied entries for it
  | { type: "noLeader" }
  | { type: "overloaded" } // too many uncommitted entries: back-pressure
  | { type: "transferring" } // leadership transfer in progress
  | { type: "rejected"; reason: string }; // e.g. a config change while one is pending

export interface RaftConfig {
  id: NodeId;
  /** Ticks without leader contact before a follower campaigns; randomized in [n, 2n). */
  electionTicks: number;
  /** Ticks between a leader's heartbeats. Must be < electionTicks. */
  heartbeatTicks: number;
  /** Seeded RNG in [0, 1): the only source of randomness. */
  random: () => number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Caps per append message. At least one entry is always sent. */
  maxEntriesPerMessage: number;
  maxBytesPerMessage: number;
  /** Unacknowledged appends in flight per follower in replicate state. */
  maxInflightAppends: number;
  /** Proposals beyond this many uncommitted bytes answer `overloaded`. */
  maxUncommittedBytes: number;
  /** Pending ReadIndex requests beyond this are failed at once (index 0). */
  maxPendingReads: number;
  /** A learner within this many entries of the leader's commit is promoted automatically. */
  promoteLagEntries: number;
  /** Test-only switches that plant known bugs, to prove the simulator has teeth. */
  bugs?: PlantedBugs;
}

export interface PlantedBugs {
  /** Commit a previous-term entry by counting replicas (Raft paper Figure 8). */
  commitPreviousTerm?: boolean;
  /** Grant votes without the log up-to-date check (§3.6.1). */
  skipLogCheckOnVote?: boolean;
  /** (Shell/sim) lose votedFor on restart. Not used by the core itself. */
  forgetVotedFor?: boolean;
  /** (Shell/sim) send acknowledgements before persisting. Not used by the core itself. */
  ackBeforePersist?: boolean;
  /** A leader counts its own entries towards a quorum before their write is durable (§10.2.1
   * allows the overlap, not this). */
  leaderCountsUnwritten?: boolean;
}

/** What a node restarts from: its stable storage. */
export interface InitialState {
  hardState: HardState;
  snapshot: SnapshotMeta | null;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[];
  /** Membership when there is neither snapshot nor config entry (bootstrap from nodes.json). */
  bootstrap: ConfigState;
}

export const DEFAULT_CONFIG: Omit<RaftConfig, "id" | "random"> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxEntriesPerMessage: 256,
  maxBytesPerMessage: 1 << 20,
  maxInflightAppends: 64,
  maxUncommittedBytes: 64 << 20,
  maxPendingReads: 10_000,
  promoteLagEntries: 64,
};
