// The Raft state machine: one `step` for every message, one `tick` for time. Pure and
// synchronous: its only outputs are the fields the facade (node.ts) gathers into a Ready.

import { assert, assertNever } from "./assert.ts";
import {
  applyConfChange,
  checkConfChange,
  decodeConfChange,
  encodeConfChange,
  encodeConfigEntry,
  isMember,
} from "./confchange.ts";
import { RaftLog } from "./log.ts";
import { Progress } from "./progress.ts";
import { quorumValue, voteOutcome } from "./quorum.ts";
import { ReadIndexQueue } from "./read_index.ts";
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  Entry,
  EntryType,
  Heartbeat,
  HeartbeatResponse,
  InitialState,
  Message,
  NodeId,
  ProposeResult,
  RaftConfig,
  ReadState,
  Snapshot,
  SnapshotRequest,
  VoteRequest,
  VoteResponse,
} from "./types.ts";

type StateRole = "follower" | "preCandidate" | "candidate" | "leader";
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Outgoing = DistributiveOmit<Message, "from">;
export type ProposedEntry = { type: EntryType; data: Uint8Array };

const EMPTY = new Uint8Array(0);
/** Ticks a follower may spend in snapshot state before the leader tries again. */
const SNAPSHOT_STALL_ELECTIONS = 10;

export class Raft {
  readonly id: NodeId;
  readonly log: RaftLog;
  term: number;
  votedFor: NodeId | null;
  leader: NodeId | null = null;
  role: StateRole = "follower";
  /** Leader: one Progress per member (this node included). */
  readonly prs = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  leadTransferee: NodeId | null = null;
  /** Follower: the highest matchIndex acknowledged to the current leader since the last
   * reset (role or term change). */
  private ackedMatch = 0;
  private uncommittedBytes = 0;
  private needBroadcast = false;
  private needReadRound = false;
  private reads: ReadIndexQueue;
  /** Follower: the one ReadIndex request in flight to the leader — its wire ctx (the first
   * read's), the leader it went to, and the local reads it answers. */
  private forwardedRead: { ctx: number; to: NodeId; reads: number[] } | null = null;
  /** Follower: local reads that arrived after the request in flight was sent. They need an index
   * the leader confirms after they arrived, so they wait and share the next request. */
  private queuedReads: number[] = [];

  // Outputs, drained by the facade.
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  pendingSnapshot: Snapshot | null = null;

  constructor(readonly cfg: RaftConfig, init: InitialState) {
    assert(cfg.heartbeatTicks < cfg.electionTicks, "heartbeatTicks must be < electionTicks");
    this.id = cfg.id;
    const snapshot = init.snapshot ?? { index: 0, term: 0, config: init.bootstrap };
    this.log = new RaftLog(snapshot, init.entries, init.hardState.commitIndex);
    this.term = init.hardState.term;
    this.votedFor = init.hardState.votedFor;
    this.reads = new ReadIndexQueue(cfg.maxPendingReads);
    this.resetElectionTimeout();
  }

  promotable(): boolean {
    return this.log.config().voters.includes(this.id);
  }

  // ---------------------------------------------------------------- time

  tick(): void {
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.cfg.preVote ? "preElection" : "election", false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      // Check quorum (§6.2): a leader cut off from a majority steps down, so that clients
      // go elsewhere and stale reads cannot be served by it.
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      for (const [id, pr] of this.prs) pr.recentActive = id === this.id;
      this.leadTransferee = null; // a transfer that took an election timeout has failed
      for (const [id, pr] of this.prs) {
        if (pr.state === "snapshot" && ++pr.snapshotTicks >= SNAPSHOT_STALL_ELECTIONS) {
          pr.becomeProbe();
          this.sendAppend(id);
        }
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const voters = this.log.config().voters;
    const active = quorumValue(voters, (id) => (this.prs.get(id)?.recentActive ? 1 : 0));
    return active === 1;
  }

  // ---------------------------------------------------------------- role changes

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.votedFor = null;
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.leadTransferee = null;
    this.ackedMatch = 0;
    this.uncommittedBytes = 0;
    this.needBroadcast = false;
    this.needReadRound = false;
    this.failReads(this.reads.drain());
  }

  private resetElectionTimeout(): void {
    const n = this.cfg.electionTicks;
    this.randomizedElectionTimeout = n + Math.floor(this.cfg.random() * n);
  }

  becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.role = "follower";
    this.leader = leader;
    this.failStaleForwardedReads();
  }

  private becomePreCandidate(): void {
    // A pre-candidate changes neither term nor vote: it only asks whether it could win.
    this.role = "preCandidate";
    this.votes.clear();
    this.leader = null;
    this.failStaleForwardedReads();
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.votedFor = this.id;
    this.role = "candidate";
    this.failStaleForwardedReads();
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", "only a candidate becomes leader");
    this.reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    this.prs.clear();
    this.syncProgress();
    this.failStaleForwardedReads();
    // A no-op opens the term (§8): it lets the leader learn what is committed, and a
    // configuration change may only follow once it commits (§4.1 errata).
    this.appendEntries([{ type: "noop", data: EMPTY }]);
  }

  /** Leader: one Progress per member; added members start probing at the log's end. */
  private syncProgress(): void {
    const config = this.log.config();
    const members = [...config.voters, ...config.learners];
    for (const id of members) {
      if (this.prs.has(id)) continue;
      const pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightAppends);
      if (id === this.id) {
        pr.matchIndex = this.log.stableIndex();
        pr.recentActive = true;
      }
      this.prs.set(id, pr);
    }
    for (const id of [...this.prs.keys()]) {
      if (!members.includes(id)) this.prs.delete(id);
    }
  }

  // ---------------------------------------------------------------- elections

  campaign(kind: "preElection" | "election", transfer: boolean): void {
    if (!this.promotable()) return;
    let voteTerm: number;
    let type: "vote" | "preVote";
    if (kind === "preElection") {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
      type = "preVote";
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
      type = "vote";
    }
    this.votes.set(this.id, true);
    if (this.tally() !== "pending") return;
    for (const to of this.log.config().voters) {
      if (to === this.id) continue;
      this.send({
        type,
        to,
        term: voteTerm,
        lastLogIndex: this.log.lastIndex(),
        lastLogTerm: this.log.lastTerm(),
        transfer,
      });
    }
  }

  /** Counts votes and acts on the outcome. */
  private tally(): "won" | "lost" | "pending" {
    const outcome = voteOutcome(this.log.config().voters, this.votes);
    if (outcome === "won") {
      if (this.role === "preCandidate") this.campaign("election", false);
      else this.becomeLeader();
    } else if (outcome === "lost") {
      this.becomeFollower(this.term, null);
    }
    return outcome;
  }

  private handleVoteRequest(m: VoteRequest): void {
    const pre = m.type === "preVote";
    const canVote = this.votedFor === m.from ||
      (this.votedFor === null && this.leader === null) ||
      (pre && m.term > this.term);
    const upToDate = this.cfg.bugs?.skipLogCheckOnVote === true ||
      this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    const type = pre ? "preVoteResp" : "voteResp";
    if (canVote && upToDate) {
      // A granted vote answers in the candidate's term: for a pre-vote we stay in ours.
      this.send({ type, to: m.from, term: m.term, granted: true });
      if (!pre) {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send({ type, to: m.from, term: this.term, granted: false });
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expected = this.role === "preCandidate"
      ? "preVoteResp"
      : this.role === "candidate"
      ? "voteResp"
      : null;
    if (m.type !== expected) return;
    this.votes.set(m.from, m.granted);
    this.tally();
  }

  // ---------------------------------------------------------------- step

  step(m: Message): void {
    // Forwarded proposals and reads are not bound to a term: whoever leads now serves them.
    switch (m.type) {
      case "propose":
        this.handleForwardedProposal(m.from, m.entries);
        return;
      case "readIndex":
        this.readIndex(m.ctx, m.from);
        return;
      case "readIndexResp":
        if (this.forwardedRead?.ctx === m.ctx) {
          for (const ctx of this.forwardedRead.reads) this.readStates.push({ ctx, index: m.index });
          this.forwardedRead = null;
          this.needReadRound ||= this.queuedReads.length > 0;
        }
        return;
    }
    if (m.term > this.term) {
      if (!this.onHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.onLowerTerm(m);
      return;
    }
    this.stepCurrentTerm(m);
  }

  /** Returns whether to go on handling `m`. */
  private onHigherTerm(m: Message): boolean {
    if (m.type === "vote" || m.type === "preVote") {
      // §4.2.3: while a live leader is heard, ignore servers that want a new term —
      // unless leadership is being handed to them on purpose (§3.10).
      const inLease = this.cfg.checkQuorum && this.leader !== null &&
        this.electionElapsed < this.cfg.electionTicks;
      if (inLease && !m.transfer) return false;
      if (m.type === "preVote") return true; // a pre-vote never changes our term
    }
    if (m.type === "preVoteResp" && m.granted) return true;
    const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    return true;
  }

  private onLowerTerm(m: Message): void {
    if (m.type === "append" || m.type === "heartbeat") {
      // A stale leader (e.g. back from a partition) learns our term and steps down; without
      // this, pre-vote would leave it unable to ever disrupt us, and us unable to reach it.
      this.send({
        type: "appendResp",
        to: m.from,
        term: this.term,
        success: false,
        matchIndex: 0,
        rejectIndex: 0,
        hintIndex: 0,
        hintTerm: 0,
      });
    } else if (m.type === "preVote") {
      this.send({ type: "preVoteResp", to: m.from, term: this.term, granted: false });
    }
  }

  private stepCurrentTerm(m: Message): void {
    switch (m.type) {
      case "vote":
      case "preVote":
        this.handleVoteRequest(m);
        return;
      case "voteResp":
      case "preVoteResp":
        this.handleVoteResponse(m);
        return;
      case "append":
      case "heartbeat":
      case "snapshot":
        assert(this.role !== "leader", `two leaders in term ${this.term}`);
        if (this.role !== "follower") this.becomeFollower(this.term, m.from);
        this.leader = m.from;
        this.electionElapsed = 0;
        if (m.type === "append") this.handleAppend(m);
        else if (m.type === "heartbeat") this.handleHeartbeat(m);
        else this.handleSnapshot(m);
        return;
      case "appendResp":
        if (this.role === "leader") this.handleAppendResponse(m);
        return;
      case "heartbeatResp":
        if (this.role === "leader") this.handleHeartbeatResponse(m);
        return;
      case "timeoutNow":
        // §3.10: start an election at once, skipping pre-vote; votes bypass leader leases.
        if (this.role !== "leader") this.campaign("election", true);
        return;
      case "propose":
      case "readIndex":
      case "readIndexResp":
        return; // handled in step()
      default:
        assertNever(m, "message");
    }
  }

  // ---------------------------------------------------------------- follower side

  private handleAppend(m: AppendRequest): void {
    const reply = (fields: Partial<AppendResponse>) =>
      this.send({
        type: "appendResp",
        to: m.from,
        term: this.term,
        success: true,
        matchIndex: 0,
        rejectIndex: 0,
        hintIndex: 0,
        hintTerm: 0,
        ...fields,
      });
    if (m.prevLogIndex < this.log.snapshot.index) {
      // Everything up to our snapshot is committed and therefore matches.
      reply({ matchIndex: this.log.commitIndex });
      return;
    }
    if (this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      const committed = this.log.commitIndex;
      const lastNew = this.log.maybeAppend(m.prevLogIndex, m.entries);
      this.log.commitTo(Math.min(m.commitIndex, lastNew));
      // The leader's commit broadcast — no entries, a new commitIndex, at a match we have
      // acknowledged already — needs no answer: it would tell the leader nothing, and it is a
      // frame each way per commit. Any other append is answered, so a lost acknowledgement
      // is repaired by the leader's next append without a new commitIndex (after a heartbeat).
      if (
        m.entries.length === 0 && this.log.commitIndex > committed && lastNew <= this.ackedMatch
      ) {
        return;
      }
      this.ackedMatch = Math.max(this.ackedMatch, lastNew);
      reply({ matchIndex: lastNew });
      return;
    }
    // Hint where our logs can first agree, so the leader skips a whole term per round trip.
    const hintIndex = this.log.findConflictByTerm(
      Math.min(m.prevLogIndex, this.log.lastIndex()),
      m.prevLogTerm,
    );
    reply({
      success: false,
      rejectIndex: m.prevLogIndex,
      hintIndex,
      hintTerm: this.log.term(hintIndex) ?? 0,
    });
  }

  private handleHeartbeat(m: Heartbeat): void {
    // The leader caps commitIndex at our matchIndex, so everything up to it matches its log.
    this.log.commitTo(Math.min(m.commitIndex, this.log.lastIndex()));
    this.send({ type: "heartbeatResp", to: m.from, term: this.term, readSeq: m.readSeq });
  }

  private handleSnapshot(m: SnapshotRequest): void {
    const meta = m.snapshot.meta;
    const reply = (matchIndex: number) =>
      this.send({
        type: "appendResp",
        to: m.from,
        term: this.term,
        success: true,
        matchIndex,
        rejectIndex: 0,
        hintIndex: 0,
        hintTerm: 0,
      });
    if (meta.index <= this.log.commitIndex) {
      reply(this.log.commitIndex);
    } else if (this.log.matchTerm(meta.index, meta.term)) {
      this.log.commitTo(meta.index); // we already have those entries: just commit them
      reply(meta.index);
    } else {
      this.log.restore(meta);
      this.pendingSnapshot = m.snapshot;
      reply(meta.index);
    }
  }

  // ---------------------------------------------------------------- leader side

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (!m.success) {
      const probeFrom = m.hintTerm > 0
        ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm)
        : m.hintIndex;
      if (pr.maybeDecrTo(m.rejectIndex, probeFrom)) this.sendAppend(m.from);
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.matchIndex)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from, false);
      return;
    }
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.matchIndex >= pr.pendingSnapshot) {
      pr.becomeProbe();
      pr.becomeReplicate();
    }
    if (this.maybeCommit()) this.bcastAppend(true);
    // A paused follower was skipped by earlier commit broadcasts: tell it commitIndex now.
    else if (wasPaused) this.sendAppend(m.from);
    while (this.role === "leader" && this.sendAppend(m.from, false)) {
      // pipeline until the follower's window is full or it has everything
    }
    if (this.role !== "leader") return;
    if (m.from === this.leadTransferee && pr.matchIndex === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", to: m.from, term: this.term });
    }
    this.maybePromote(m.from, pr);
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.onHeartbeatAck();
    if (pr.matchIndex < this.log.lastIndex()) this.sendAppend(m.from);
    if (m.readSeq > pr.readSeqAcked) {
      pr.readSeqAcked = m.readSeq;
      this.releaseReads();
    }
    // A learner that caught up before its addLearner committed sends no more updating acks.
    if (pr.state === "replicate") this.maybePromote(m.from, pr);
  }

  /** Sends one append (or a snapshot) to `to`; false if nothing was sent. */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.prs.get(to);
    if (this.role !== "leader" || !pr || to === this.id || pr.isPaused()) return false;
    if (pr.nextIndex > this.log.lastIndex() + 1) pr.nextIndex = this.log.lastIndex() + 1;
    const prevLogIndex = pr.nextIndex - 1;
    const prevLogTerm = this.log.term(prevLogIndex);
    if (prevLogTerm === undefined) {
      // The entries it needs are compacted: send the snapshot (the shell attaches the data).
      const meta = this.log.snapshot;
      pr.becomeSnapshot(meta.index);
      this.send({ type: "snapshot", to, term: this.term, snapshot: { meta, data: EMPTY } });
      return true;
    }
    const entries = this.log.slice(
      pr.nextIndex,
      this.log.lastIndex(),
      this.cfg.maxEntriesPerMessage,
      this.cfg.maxBytesPerMessage,
    );
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: "append",
      to,
      term: this.term,
      prevLogIndex,
      prevLogTerm,
      entries,
      commitIndex: this.log.commitIndex,
    });
    pr.sentEntries(prevLogIndex + entries.length, entries.length);
    return true;
  }

  private bcastAppend(sendIfEmpty: boolean): void {
    for (const id of this.prs.keys()) {
      if (id !== this.id) this.sendAppend(id, sendIfEmpty);
    }
  }

  private bcastHeartbeat(): void {
    this.reads.broadcastSeq = this.reads.seq;
    for (const [to, pr] of this.prs) {
      if (to === this.id) continue;
      this.send({
        type: "heartbeat",
        to,
        term: this.term,
        commitIndex: Math.min(pr.matchIndex, this.log.commitIndex),
        readSeq: this.reads.seq,
      });
    }
  }

  /** Advances commitIndex to what a majority of voters has; only entries of the current
   * term are committed by counting replicas (§3.6.2, Figure 8). */
  private maybeCommit(): boolean {
    const voters = this.log.config().voters;
    const index = quorumValue(voters, (id) => this.prs.get(id)?.matchIndex ?? 0);
    if (index <= this.log.commitIndex) return false;
    if (this.cfg.bugs?.commitPreviousTerm !== true && this.log.term(index) !== this.term) {
      return false;
    }
    const wasCommittedInTerm = this.committedInTerm();
    const oldCommit = this.log.commitIndex;
    this.log.commitTo(index);
    for (const e of this.log.slice(oldCommit + 1, index)) {
      if (e.term === this.term) this.uncommittedBytes -= e.data.byteLength;
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    if (!wasCommittedInTerm && this.committedInTerm()) {
      for (const r of this.reads.takeDeferred()) this.readIndex(r.ctx, r.from);
    }
    // A leader removed from the configuration leads until that change commits (§4.2.2), then
    // hands off at once (as in a transfer, §3.10) rather than leave the rest to time out.
    if (!this.promotable() && this.log.lastConfigIndex() <= this.log.commitIndex) {
      const successor = this.caughtUpVoter();
      if (successor !== null) this.send({ type: "timeoutNow", to: successor, term: this.term });
      this.becomeFollower(this.term, null);
    }
    return true;
  }

  /** A voter other than this node whose log matches the leader's to the end (the first by id
   * if several), or null. */
  private caughtUpVoter(): NodeId | null {
    const last = this.log.lastIndex();
    const ready = this.log.config().voters.filter((id) =>
      id !== this.id && this.prs.get(id)?.matchIndex === last
    );
    return ready.length > 0 ? [...ready].sort()[0] : null;
  }

  committedInTerm(): boolean {
    return this.log.term(this.log.commitIndex) === this.term;
  }

  /** The shell persisted the log up to stableIndex: the leader may now count itself. */
  onStable(): void {
    if (this.role !== "leader") return;
    this.prs.get(this.id)?.maybeUpdate(this.log.stableIndex());
    if (this.maybeCommit()) this.bcastAppend(true);
  }

  private appendEntries(entries: ProposedEntry[]): { index: number; term: number } {
    let index = this.log.lastIndex();
    const out: Entry[] = entries.map((e) => ({ term: this.term, index: ++index, ...e }));
    this.log.append(out);
    for (const e of out) this.uncommittedBytes += e.data.byteLength;
    if (out.some((e) => e.type === "config")) this.syncProgress();
    this.needBroadcast = true;
    return { index, term: this.term };
  }

  /** Sends the appends that proposals since the last Ready made necessary, as one batch. */
  flush(): boolean {
    if (!this.needBroadcast && !this.needReadRound) return false;
    if (this.needBroadcast && this.role === "leader") {
      this.bcastAppend(false);
      // A single-voter cluster commits as soon as its own write is durable (onStable).
    }
    if (this.needReadRound) {
      if (this.role === "leader") this.releaseReads();
      else this.forwardQueuedReads();
    }
    this.needBroadcast = false;
    this.needReadRound = false;
    return true;
  }

  hasPendingFlush(): boolean {
    return this.needBroadcast || this.needReadRound;
  }

  // ---------------------------------------------------------------- proposals

  propose(entries: ProposedEntry[]): ProposeResult {
    if (entries.length === 0) return { type: "rejected", reason: "no entries" };
    if (this.role !== "leader") {
      if (this.leader === null) return { type: "noLeader" };
      this.send({ type: "propose", to: this.leader, term: this.term, entries });
      return { type: "forwarded", to: this.leader };
    }
    if (this.leadTransferee !== null) return { type: "transferring" };
    // One change at a time (§4.1): each is checked against the config before the batch.
    if (entries.filter((e) => e.type === "config").length > 1) {
      return { type: "rejected", reason: "more than one configuration change in a batch" };
    }
    const configIndex = entries.findIndex((e) => e.type === "config");
    if (configIndex >= 0) {
      const change = decodeConfChange(entries[configIndex].data);
      const problem = change ? this.confChangeProblem(change) : "malformed config change";
      if (problem !== null || change === null) {
        return { type: "rejected", reason: problem ?? "malformed config change" };
      }
      entries = entries.map((e, k) => k === configIndex ? this.configEntry(change) : e);
    }
    const bytes = entries.reduce((sum, e) => sum + e.data.byteLength, 0);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes) {
      return { type: "overloaded" };
    }
    const { index, term } = this.appendEntries(entries);
    return { type: "ok", index, term };
  }

  private handleForwardedProposal(from: NodeId, entries: ProposedEntry[]): void {
    // A proposal forwarded to a non-leader is dropped: its proposer times out and retries.
    if (this.role === "leader" && from !== this.id) this.propose(entries);
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    return this.propose([{ type: "config", data: encodeConfChange(change) }]);
  }

  /** Why the leader cannot append `change` now, or null. */
  confChangeProblem(change: ConfChange): string | null {
    if (!this.committedInTerm()) return "the leader has not yet committed an entry in its term";
    if (this.log.lastConfigIndex() > this.log.commitIndex) {
      return "another configuration change is in progress";
    }
    return checkConfChange(this.log.config(), change);
  }

  /** A learner that has caught up becomes a voter (§4.2.1). */
  private maybePromote(id: NodeId, pr: Progress): void {
    if (!this.log.config().learners.includes(id)) return;
    if (pr.matchIndex + this.cfg.promoteLagEntries < this.log.commitIndex) return;
    const change: ConfChange = { type: "promote", id };
    if (this.leadTransferee === null && this.confChangeProblem(change) === null) {
      this.appendEntries([this.configEntry(change)]);
    }
  }

  /** A config entry carrying the whole configuration after `change` (encodeConfigEntry). */
  private configEntry(change: ConfChange): ProposedEntry {
    const after = applyConfChange(this.log.config(), change);
    return { type: "config", data: encodeConfigEntry(change, after) };
  }

  transferLeadership(to: NodeId): { type: "ok" } | { type: "rejected"; reason: string } {
    if (this.role !== "leader") return { type: "rejected", reason: "not the leader" };
    if (to === this.id) return { type: "ok" };
    if (!this.log.config().voters.includes(to)) {
      return { type: "rejected", reason: `${to} is not a voter` };
    }
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer is abandoned after one election timeout
    const pr = this.prs.get(to)!;
    if (pr.matchIndex === this.log.lastIndex()) {
      this.send({ type: "timeoutNow", to, term: this.term });
    } else {
      this.sendAppend(to);
    }
    return { type: "ok" };
  }

  // ---------------------------------------------------------------- ReadIndex (§6.4)

  readIndex(ctx: number, from: NodeId = this.id): void {
    if (this.role !== "leader") {
      if (from !== this.id) {
        this.send({ type: "readIndexResp", to: from, term: this.term, ctx, index: 0 });
      } else if (
        this.leader === null ||
        (this.forwardedRead?.reads.length ?? 0) + this.queuedReads.length >=
          this.cfg.maxPendingReads
      ) {
        this.readStates.push({ ctx, index: 0 });
      } else {
        // Reads arriving together share one request at the next flush; while one is in
        // flight, later reads wait for it and go in the next (one frame each way per batch).
        this.queuedReads.push(ctx);
        if (this.forwardedRead === null) this.needReadRound = true;
      }
      return;
    }
    if (this.reads.isFull()) {
      this.failReads([{ ctx, from }]);
    } else if (!this.committedInTerm()) {
      this.reads.deferUntilCommit(ctx, from);
    } else if (this.log.config().voters.length === 1 && this.promotable()) {
      this.answerRead(ctx, from, this.log.commitIndex);
    } else {
      // The heartbeat round starts at the next flush, so a burst of reads shares one round.
      this.reads.add(ctx, from, this.log.commitIndex);
      this.needReadRound = true;
    }
  }

  private releaseReads(): void {
    const voters = this.log.config().voters;
    const confirmed = quorumValue(
      voters,
      (id) => id === this.id ? this.reads.seq : this.prs.get(id)?.readSeqAcked ?? 0,
    );
    for (const r of this.reads.release(confirmed)) this.answerRead(r.ctx, r.from, r.index);
    if (this.reads.needsRound(confirmed)) this.bcastHeartbeat();
  }

  private answerRead(ctx: number, from: NodeId, index: number): void {
    if (from === this.id) this.readStates.push({ ctx, index });
    else this.send({ type: "readIndexResp", to: from, term: this.term, ctx, index });
  }

  private failReads(reads: { ctx: number; from: NodeId }[]): void {
    for (const r of reads) this.answerRead(r.ctx, r.from, 0);
  }

  /** Follower: sends the queued reads to the leader as one request, unless one is in flight. */
  private forwardQueuedReads(): void {
    if (this.forwardedRead !== null || this.queuedReads.length === 0) return;
    if (this.leader === null || this.leader === this.id) return this.failStaleForwardedReads();
    const reads = this.queuedReads;
    this.queuedReads = [];
    this.forwardedRead = { ctx: reads[0], to: this.leader, reads };
    this.send({ type: "readIndex", to: this.leader, term: this.term, ctx: reads[0] });
  }

  /** A forwarded request whose leader is no longer ours will never be answered: fail its reads.
   * Queued reads fail when no leader is known; otherwise they go to the new one. */
  private failStaleForwardedReads(): void {
    const fail = (ctx: number) => this.readStates.push({ ctx, index: 0 });
    if (this.forwardedRead !== null && this.forwardedRead.to !== this.leader) {
      this.forwardedRead.reads.forEach(fail);
      this.forwardedRead = null;
    }
    if (this.leader === null || this.role === "leader") {
      this.queuedReads.forEach(fail);
      this.queuedReads = [];
    } else if (this.queuedReads.length > 0 && this.forwardedRead === null) {
      this.needReadRound = true;
    }
  }

  // ---------------------------------------------------------------- plumbing

  private send(m: Outgoing): void {
    this.msgs.push({ ...m, from: this.id } as Message);
  }

  /** The transport could not deliver a snapshot to `id`: probe again. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    const pr = this.prs.get(id);
    if (this.role !== "leader" || !pr || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
  }

  isMember(id: NodeId): boolean {
    return isMember(this.log.config(), id);
  }
}
