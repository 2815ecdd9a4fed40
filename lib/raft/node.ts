// The facade a shell drives: feed it tick/step/propose, drain a Ready, persist → send →
// apply, then advance. Messages may be stepped between ready() and advance(); only one
// Ready is outstanding at a time.
//
// A node may also overlap its own disk write with later Readies (dissertation §10.2.1 for the
// leader; a follower likewise, as etcd's server does): it advances a Ready with
// advance(rd, false) before the write is durable, takes further Readies with ready(false)
// while the write is in flight — they only apply what a majority already has on disk
// (committed) and answer reads; messages wait for the next full Ready, so they go out in the
// same batches as without the overlap — and it reports persisted(index, term) when the write
// is durable. A leader counts itself towards a quorum only from then on, so a commit never
// rests on its unwritten entries; a follower's acknowledgements of the written entries must
// wait for the write (the shell holds them).

import { assert } from "./assert.ts";
import { Raft } from "./raft.ts";
import type { ProposedEntry } from "./raft.ts";
import type {
  ConfChange,
  ConfigState,
  Entry,
  HardState,
  InitialState,
  Message,
  NodeId,
  ProposeResult,
  RaftConfig,
  Ready,
  Role,
  Snapshot,
  SnapshotMeta,
  SoftState,
} from "./types.ts";

export interface PeerProgress {
  matchIndex: number;
  nextIndex: number;
  state: "probe" | "replicate" | "snapshot";
  recentActive: boolean;
  inflight: number;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  votedFor: NodeId | null;
  leader: NodeId | null;
  commitIndex: number;
  lastApplied: number;
  lastIndex: number;
  snapshotIndex: number;
  config: ConfigState;
  /** Leader only: its view of every member. */
  progress: Map<NodeId, PeerProgress> | null;
}

/** Cap on committed entries handed out in one Ready, so one apply batch stays small. */
const APPLY_ENTRIES_MAX = 4096;
const APPLY_BYTES_MAX = 16 << 20;

export class RaftNode {
  private readonly raft: Raft;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstanding = false;

  constructor(config: RaftConfig, initial: InitialState) {
    this.raft = new Raft(config, initial);
    this.prevHardState = this.hardState();
    this.prevSoftState = this.softState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  /** Cheap accessors for hot paths (status() builds a progress map). */
  get role(): Role {
    return this.softState().role;
  }

  get leader(): NodeId | null {
    return this.raft.leader;
  }

  get term(): number {
    return this.raft.term;
  }

  get commitIndex(): number {
    return this.raft.log.commitIndex;
  }

  get snapshotIndex(): number {
    return this.raft.log.snapshot.index;
  }

  /** The configuration in force (the latest in the log); the same object until it changes. */
  get config(): ConfigState {
    return this.raft.log.config();
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: Message): void {
    if (message.to !== this.raft.id) return;
    this.raft.step(message);
  }

  propose(data: Uint8Array): ProposeResult {
    return this.raft.propose([{ type: "normal", data }]);
  }

  /** Several proposals as consecutive entries (one decision on overload for the batch). */
  proposeBatch(entries: ProposedEntry[]): ProposeResult {
    return this.raft.propose(entries);
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    return this.raft.proposeConfChange(change);
  }

  /** Requests a read index for `ctx`; the answer arrives in a later Ready's readStates. */
  readIndex(ctx: number): void {
    this.raft.readIndex(ctx);
  }

  transferLeadership(to: NodeId): { type: "ok" } | { type: "rejected"; reason: string } {
    return this.raft.transferLeadership(to);
  }

  /** Starts an election now (tests, and a forced campaign). */
  campaign(): void {
    if (this.raft.role !== "leader") {
      this.raft.campaign(this.raft.cfg.preVote ? "preElection" : "election", false);
    }
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(id, ok);
  }

  /** Whether ready(full) has something to hand out. */
  hasReady(full = true): boolean {
    const r = this.raft;
    // (A snapshot to install comes first, in a full Ready: it replaces what would be applied.)
    const applyOnly = r.pendingSnapshot === null &&
      (r.readStates.length > 0 || r.log.commitIndex > r.log.lastApplied);
    if (applyOnly || !full) return applyOnly;
    return r.hasPendingFlush() || r.msgs.length > 0 || r.pendingSnapshot !== null ||
      r.log.hasEntriesToWrite() || !sameHardState(this.hardState(), this.prevHardState) ||
      !sameSoftState(this.softState(), this.prevSoftState);
  }

  /** The next Ready. With `full` false it carries only committed entries to apply and read
   * states — nothing to write or send — for a node whose own write is in flight. */
  ready(full = true): Ready {
    assert(!this.outstanding, "ready() called again before advance()");
    const r = this.raft;
    if (!full) {
      assert(r.pendingSnapshot === null, "an apply-only Ready with a snapshot to install");
      const rd: Ready = {
        softState: null,
        hardState: null,
        entries: [],
        snapshot: null,
        messages: [],
        committedEntries: this.committedEntries(null),
        readStates: r.readStates,
      };
      r.readStates = [];
      this.outstanding = true;
      return rd;
    }
    r.flush();
    const hardState = this.hardState();
    const softState = this.softState();
    const snapshot = r.pendingSnapshot;
    const entries = r.log.entriesToWrite();
    const last = entries.at(-1);
    if (last) r.log.writingTo(last.index);
    const rd: Ready = {
      softState: sameSoftState(softState, this.prevSoftState) ? null : softState,
      hardState: sameHardState(hardState, this.prevHardState) ? null : hardState,
      entries,
      snapshot,
      messages: r.msgs,
      committedEntries: this.committedEntries(snapshot),
      readStates: r.readStates,
    };
    r.msgs = [];
    r.readStates = [];
    r.pendingSnapshot = null;
    this.prevHardState = hardState;
    this.prevSoftState = softState;
    this.outstanding = true;
    return rd;
  }

  /** The Ready was handled. `stable`: its entries and hard state are durable now; false
   * when the write is still in flight (persisted() follows). */
  advance(rd: Ready, stable = true): void {
    assert(this.outstanding, "advance() without ready()");
    this.outstanding = false;
    const log = this.raft.log;
    if (rd.snapshot && rd.snapshot.meta.index > log.lastApplied) {
      // Ignored if the log moved past the snapshot meanwhile; otherwise it is now applied.
      if (rd.snapshot.meta.index <= log.commitIndex) log.lastApplied = rd.snapshot.meta.index;
    }
    const last = rd.entries.at(-1);
    if (last && (stable || this.raft.cfg.bugs?.leaderCountsUnwritten)) {
      log.stableTo(last.index, last.term);
    }
    const applied = rd.committedEntries.at(-1);
    if (applied) log.appliedTo(applied.index);
    this.raft.onStable();
  }

  /** A write handed out earlier, ending at (index, term), is durable. */
  persisted(index: number, term: number): void {
    this.raft.log.stableTo(index, term);
    this.raft.onStable();
  }

  /** True if a write may stay in flight while Readies go on: the node's term and vote are
   * on disk (`persisted`) and it has no snapshot to install. */
  mayOverlapWrite(persisted: HardState): boolean {
    const r = this.raft;
    return r.term === persisted.term && r.votedFor === persisted.votedFor &&
      r.pendingSnapshot === null;
  }

  private committedEntries(snapshot: Snapshot | null): Entry[] {
    const log = this.raft.log;
    const applyFrom = Math.max(log.lastApplied, snapshot?.meta.index ?? 0) + 1;
    return applyFrom <= log.commitIndex
      ? log.slice(applyFrom, log.commitIndex, APPLY_ENTRIES_MAX, APPLY_BYTES_MAX)
      : [];
  }

  /** Snapshot metadata for a state-machine image taken at applied index `index`. */
  snapshotMeta(index: number): SnapshotMeta {
    const log = this.raft.log;
    assert(index <= log.lastApplied && index >= log.snapshot.index, `no snapshot at ${index}`);
    if (index === log.snapshot.index) return log.snapshot;
    return { index, term: log.term(index)!, config: log.configAt(index) };
  }

  /** Drops log entries up to `index`, now covered by a saved snapshot. */
  compact(index: number): SnapshotMeta {
    return this.raft.log.compact(index);
  }

  status(): RaftStatus {
    const r = this.raft;
    const config = r.log.config();
    let progress: Map<NodeId, PeerProgress> | null = null;
    if (r.role === "leader") {
      progress = new Map();
      for (const [id, pr] of r.prs) {
        progress.set(id, {
          matchIndex: pr.matchIndex,
          nextIndex: pr.nextIndex,
          state: pr.state,
          recentActive: pr.recentActive,
          inflight: pr.inflightCount(),
        });
      }
    }
    return {
      id: r.id,
      role: this.softState().role,
      term: r.term,
      votedFor: r.votedFor,
      leader: r.leader,
      commitIndex: r.log.commitIndex,
      lastApplied: r.log.lastApplied,
      lastIndex: r.log.lastIndex(),
      snapshotIndex: r.log.snapshot.index,
      config,
      progress,
    };
  }

  /** Read-only access to the log, for the simulator's invariant checks and for metrics. */
  termAt(index: number): number | undefined {
    return this.raft.log.term(index);
  }

  entryAt(index: number): Entry | undefined {
    const log = this.raft.log;
    return index > log.snapshot.index && index <= log.lastIndex() ? log.entry(index) : undefined;
  }

  private hardState(): HardState {
    const r = this.raft;
    return { term: r.term, votedFor: r.votedFor, commitIndex: r.log.commitIndex };
  }

  private softState(): SoftState {
    const r = this.raft;
    const role: Role = r.role === "follower" && !r.promotable() && r.isMember(r.id)
      ? "learner"
      : r.role;
    return { role, leader: r.leader };
  }
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.votedFor === b.votedFor && a.commitIndex === b.commitIndex;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.role === b.role && a.leader === b.leader;
}
