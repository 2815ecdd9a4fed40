// The shell around the Raft core: the only place with timers and awaits. It drains each Ready
// in the fixed order persist → send → apply → advance, so nothing is acknowledged before it is
// on disk. No node waits for its own write to apply what is committed (dissertation §10.2.1
// for the leader; etcd's server does the same on followers): a leader's appends go out first,
// and while a write is in flight whatever a majority has on disk is applied and answered at
// once. Acknowledgements, other messages and the next write wait for the write, so nothing is
// acknowledged early and batches stay as large as before.

import {
  type Applied,
  type Command,
  type CommandResult,
  encodeCommand,
  KvStateMachine,
} from "../kv/mod.ts";
import type { KvLimits } from "../kv/mod.ts";
import {
  type ConfChange,
  type ConfigState,
  DEFAULT_CONFIG,
  type HardState,
  type Message,
  type NodeId,
  type ProposeResult,
  RaftNode,
  type RaftStatus,
  type Ready,
  type Snapshot,
} from "../raft/mod.ts";
import type { RaftStorage } from "../storage/mod.ts";
import type { Transport } from "../transport/mod.ts";
import { IndexWaiters, Waiters } from "./waiters.ts";
import { SnapshotStreams, type StreamConfig, type StreamStats } from "./snapshot_stream.ts";
import { encodeAddress, type MemberAddress, type MemberInfo, membersOf } from "./members.ts";

export interface ReplicaConfig {
  id: NodeId;
  /** Bootstrap voters (nodes.json), used only when storage holds no configuration. */
  voters: NodeId[];
  /** Bootstrap addresses; they join the replicated configuration. */
  addresses?: ReadonlyMap<NodeId, MemberAddress>;
  /** Start with an empty configuration and wait to be added (`--join`). */
  join?: boolean;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotEntries: number;
  requestTimeoutMs: number;
  kvLimits?: Partial<KvLimits>;
  /** Pending client proposals and reads beyond this are refused (503), not queued. */
  pendingMax?: number;
  /** How snapshots stream to followers (chunk size, window, timeouts); defaults suit most. */
  snapshotStream?: Partial<StreamConfig>;
}

export interface ReplicaDeps {
  storage: RaftStorage;
  transport: Transport;
  log: (line: string) => void;
  /** Wall clock (ms): stamps commands and judges expiry on reads. */
  now?: () => number;
  /** Called on a broken invariant or a failed disk write: the node must stop (fail-stop). */
  fatal?: (error: unknown) => void;
}

/** A write command before the shell stamps it. */
export type WriteCommand = Command extends infer C
  ? C extends Command ? Omit<C, "time" | "reqId"> : never
  : never;

export type Unavailable = { type: "unavailable"; reason: string };
export type WriteOutcome = { type: "applied"; result: CommandResult } | Unavailable | {
  type: "timeout";
};
export type BarrierOutcome = { type: "ok" } | Unavailable | { type: "timeout" };

const PENDING_MAX = 50_000;
/** While a snapshot streams, compaction waits until the log is this many intervals long. */
const SNAPSHOT_HOLD_MAX = 8;

export class Replica {
  readonly id: NodeId;
  readonly node: RaftNode;
  sm: KvStateMachine;
  private readonly proposals: Waiters<string, CommandResult>;
  private readonly reads: Waiters<number, number>;
  private readonly applied = new IndexWaiters();
  private readonly streams: SnapshotStreams;
  /** The hard state as last written: term and vote are current on disk, commitIndex is
   * whatever it was then (see handleReady). */
  private persistedHard: HardState;
  /** A log write that Readies do not wait for, while in flight. */
  private writing: Promise<void> | null = null;
  private running = false;
  private stopped = false;
  private failed = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private seq = 0;
  private readCtx = 0;
  private readonly boot = crypto.randomUUID().slice(0, 8);
  private sweepPending = false;
  private knownLeader: NodeId | null = null;
  private syncedConfig: ConfigState | null = null;
  private readonly now: () => number;
  private readonly appliedListeners = new Set<(applied: Applied) => void>();
  private readonly restoreListeners = new Set<(sm: KvStateMachine) => void>();
  private readonly leaderListeners = new Set<(leader: NodeId | null, term: number) => void>();

  private constructor(
    private readonly cfg: ReplicaConfig,
    private readonly deps: ReplicaDeps,
    node: RaftNode,
    sm: KvStateMachine,
    hardState: HardState,
  ) {
    this.id = cfg.id;
    this.persistedHard = hardState;
    this.node = node;
    this.sm = sm;
    this.now = deps.now ?? Date.now;
    this.streams = new SnapshotStreams({
      id: cfg.id,
      storage: deps.storage,
      send: (m) => deps.transport.send(m),
      now: () => performance.now(),
      term: () => node.term,
      isLeader: () => node.role === "leader",
      covers: (meta) => node.commitIndex >= meta.index || node.termAt(meta.index) === meta.term,
      deliver: (m) => {
        node.step(m);
        this.kick();
      },
      failed: (to) => {
        node.reportSnapshot(to, false);
        this.kick();
      },
      // A transfer still writing when the node stops finds its storage closed: not a failure.
      fatal: (e) => this.stopped || this.fail(e),
      log: deps.log,
    }, cfg.snapshotStream);
    const max = cfg.pendingMax ?? PENDING_MAX;
    this.proposals = new Waiters(max, cfg.requestTimeoutMs);
    this.reads = new Waiters(max, cfg.requestTimeoutMs);
  }

  /** Recovers from storage: the latest snapshot plus the log after it. */
  static async open(cfg: ReplicaConfig, deps: ReplicaDeps): Promise<Replica> {
    const stored = await deps.storage.load();
    const snapshot = stored.snapshot ? await deps.storage.loadSnapshot() : null;
    const sm = snapshot
      ? KvStateMachine.restore(snapshot.data, cfg.kvLimits)
      : new KvStateMachine(cfg.kvLimits);
    const node = new RaftNode({
      ...DEFAULT_CONFIG,
      id: cfg.id,
      electionTicks: cfg.electionTicks,
      heartbeatTicks: cfg.heartbeatTicks,
      random: Math.random,
    }, {
      hardState: stored.hardState,
      snapshot: stored.snapshot,
      entries: stored.entries,
      bootstrap: bootstrapConfig(cfg),
    });
    return new Replica(cfg, deps, node, sm, stored.hardState);
  }

  start(): void {
    this.deps.transport.onMessage((m) => {
      if (m.type === "snapChunk") return this.streams.onChunk(m);
      if (m.type === "snapAck") return this.streams.onAck(m);
      this.node.step(m);
      this.kick();
    });
    this.ticker = setInterval(() => this.tick(), this.cfg.tickMs);
    this.syncPeers();
    this.kick();
  }

  /** Every member with its address, as the replicated configuration has them. */
  members(): MemberInfo[] {
    return membersOf(this.node.config, this.cfg.addresses ?? new Map());
  }

  /** The transport talks to exactly the members of the configuration in force. */
  private syncPeers(): void {
    const config = this.node.config;
    if (config === this.syncedConfig) return;
    this.syncedConfig = config;
    // A joining node knows no configuration yet: it keeps the peers from its cluster file, so
    // that the leader's connection is accepted and the configuration can reach it.
    if (config.voters.length === 0 && config.learners.length === 0) return;
    const peers = this.members().filter((m) => m.id !== this.id);
    this.deps.transport.setPeers(peers.map((m) => ({ id: m.id, peer: m.peer })));
  }

  /** Proposes a one-server membership change (leader only) and waits until it commits. */
  async changeMembership(change: ConfChange): Promise<WriteOutcome> {
    if (this.node.role !== "leader") return { type: "unavailable", reason: "not the leader" };
    const r = this.node.proposeConfChange(change);
    if (r.type !== "ok") return { type: "unavailable", reason: describeRefusal(r) ?? r.type };
    this.kick();
    if (!await this.waitApplied(r.index)) return { type: "timeout" };
    // Applied at that index and still our entry (a new leader may have truncated it).
    if (this.node.termAt(r.index) !== r.term) return { type: "timeout" };
    return { type: "applied", result: { type: "put", revision: r.index, version: 0 } };
  }

  /** Hands leadership to `to` (§3.10) and waits until it leads; to the most up-to-date voter
   * when `to` is null. */
  async transferLeadership(
    to: NodeId | null,
  ): Promise<{ type: "ok"; leader: NodeId } | Unavailable | { type: "timeout" }> {
    const st = this.node.status();
    if (st.role !== "leader") return { type: "unavailable", reason: "not the leader" };
    const target = to ?? bestTransferee(st);
    if (target === null) return { type: "unavailable", reason: "no other voter to hand over to" };
    const r = this.node.transferLeadership(target);
    if (r.type === "rejected") return { type: "unavailable", reason: r.reason };
    this.kick();
    const deadline = Date.now() + this.cfg.tickMs * this.cfg.electionTicks * 3;
    while (Date.now() < deadline) {
      if (this.node.leader === target) return { type: "ok", leader: target };
      await new Promise((resolve) => setTimeout(resolve, this.cfg.tickMs));
    }
    return { type: "timeout" };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    this.proposals.cancelAll();
    this.reads.cancelAll();
    this.applied.cancelAll();
    while (this.running || this.writing) await new Promise((r) => setTimeout(r, 5));
  }

  /** Every applied command (with its result and watch events), synchronously, in log order.
   * Listeners must be quick and must not throw. Returns an unsubscribe function. */
  onApplied(listener: (applied: Applied) => void): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** The state machine was replaced by a snapshot from the leader (events before its index
   * were never seen here). Returns an unsubscribe function. */
  onRestore(listener: (sm: KvStateMachine) => void): () => void {
    this.restoreListeners.add(listener);
    return () => this.restoreListeners.delete(listener);
  }

  /** The leader this node follows changed (null: none known). Returns an unsubscribe. */
  onLeaderChange(listener: (leader: NodeId | null, term: number) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  status(): RaftStatus {
    return this.node.status();
  }

  /** Snapshot transfers: bytes streamed, chunks refused, bytes held in memory for them. */
  snapshotStreamStats(): StreamStats {
    return this.streams.stats();
  }

  private tick(): void {
    this.node.tick();
    this.streams.tick();
    this.maybeSweep();
    this.kick();
  }

  // ---------------------------------------------------------------- client operations

  /** Proposes a write and waits until it is applied here (so its result is known). */
  async write(command: WriteCommand): Promise<WriteOutcome> {
    if (this.stopped) return { type: "unavailable", reason: "the node is stopping" };
    if (this.proposals.isFull()) return { type: "unavailable", reason: "too many pending writes" };
    const reqId = `${this.id}.${this.boot}.${++this.seq}`;
    // Time only moves forward in the state machine, so stamp at least its clock.
    const time = Math.max(this.now(), this.sm.clockMs);
    const full = { ...command, time, reqId } as Command;
    const refused = describeRefusal(this.node.propose(encodeCommand(full)));
    if (refused) return { type: "unavailable", reason: refused };
    this.kick();
    const result = await this.proposals.wait(reqId);
    return result ? { type: "applied", result } : { type: "timeout" };
  }

  /** ReadIndex (§6.4): after this resolves ok, the local state machine reflects every write
   * acknowledged before the call. */
  async readBarrier(): Promise<BarrierOutcome> {
    if (this.stopped) return { type: "unavailable", reason: "the node is stopping" };
    if (this.reads.isFull()) return { type: "unavailable", reason: "too many pending reads" };
    const ctx = ++this.readCtx;
    const wait = this.reads.wait(ctx);
    this.node.readIndex(ctx);
    this.kick();
    const index = await wait;
    if (index === null) return { type: "timeout" };
    if (index === 0) return { type: "unavailable", reason: "no leader" };
    return await this.waitApplied(index) ? { type: "ok" } : { type: "timeout" };
  }

  /** Waits (bounded) until this replica has applied `index`. */
  async waitApplied(index: number, timeoutMs = this.cfg.requestTimeoutMs): Promise<boolean> {
    if (this.sm.appliedIndex >= index) return true;
    return await this.applied.wait(index, timeoutMs);
  }

  /** The leader's view of time for expiry on reads. */
  clock(): number {
    return Math.max(this.now(), this.sm.clockMs);
  }

  // ---------------------------------------------------------------- the Ready loop

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    queueMicrotask(() => this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && this.hasWork()) {
        await this.handleReady(this.node.ready(this.writing === null));
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.running = false;
    }
    if (!this.stopped && this.hasWork()) this.kick();
  }

  /** Whether a Ready can be handled now. While a write is in flight, only Readies that
   * apply and answer reads; the write's completion kicks the loop for the rest. */
  private hasWork(): boolean {
    return this.node.hasReady(this.writing === null);
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState && rd.softState.leader !== this.knownLeader) {
      // Proposals in flight went to a leader that is gone: their fate is unknown. Say so at
      // once (504) rather than at the request timeout, so clients retry against the new one.
      if (this.knownLeader !== null) this.proposals.cancelAll();
      this.knownLeader = rd.softState.leader;
      const term = rd.hardState?.term ?? this.node.status().term;
      for (const listener of this.leaderListeners) listener(this.knownLeader, term);
    }
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) {
      // A leader's appends acknowledge nothing: send them while its own write is in flight.
      (m.type === "append" || m.type === "heartbeat" ? early : late).push(m);
    }
    for (const m of early) this.send(m);
    if (rd.snapshot) await this.saveReceived(rd.snapshot);
    // commitIndex is volatile state (Raft §5, Figure 2): a hard state that changes only it is
    // not worth a disk write (one fsync) in front of every reply, nor a key in every write of
    // entries (a second B-tree page: ~15% of a commit's time). It is written only along with
    // a new term or vote; after a crash the node restarts with an older commitIndex and the
    // leader tells it the rest. Term and vote are always durable before any message.
    const hard = rd.hardState !== null && (rd.hardState.term !== this.persistedHard.term ||
        rd.hardState.votedFor !== this.persistedHard.votedFor)
      ? rd.hardState
      : null;
    let overlapped = false;
    if (rd.entries.length > 0 || hard !== null) {
      const write = this.deps.storage.append(rd.entries, hard);
      if (this.node.mayOverlapWrite(this.persistedHard)) {
        // Term and vote are on disk: applying below does not wait for this write; the
        // acknowledgements (and every other message after the appends) do.
        overlapped = true;
        this.writing = this.whenWritten(write, rd.entries.at(-1), late);
      } else {
        await write;
        if (hard) this.persistedHard = hard;
      }
    }
    if (!overlapped) { for (const m of late) this.send(m); }
    if (rd.snapshot) {
      this.sm = KvStateMachine.restore(rd.snapshot.data, this.cfg.kvLimits);
      const { index, term } = rd.snapshot.meta;
      this.deps.log(`installed the leader's snapshot at ${index}/${term}`);
      for (const listener of this.restoreListeners) listener(this.sm);
    }
    for (const e of rd.committedEntries) {
      if (e.type === "normal") {
        const applied = this.sm.apply(e.index, e.data);
        for (const listener of this.appliedListeners) listener(applied);
        if (applied.reqId !== null) this.proposals.resolve(applied.reqId, applied.result);
        if (applied.result.type === "sweep") this.sweepPending = false;
      } else {
        this.sm.applyNoop(e.index);
      }
    }
    this.node.advance(rd, !overlapped);
    // Peers follow the configuration only once the held messages are out: a node that has
    // appended its leader's removal must still acknowledge it to that leader.
    if (!overlapped) this.syncPeers();
    for (const rs of rd.readStates) this.reads.resolve(rs.ctx, rs.index);
    if (rd.committedEntries.length > 0 || rd.snapshot) this.applied.applied(this.sm.appliedIndex);
    await this.maybeCompact();
  }

  /** Once an overlapped write is durable: sends the messages held for it, updates the peers
   * and reports the write to the core. (It never carries a hard state: mayOverlapWrite needs
   * term and vote on disk.) */
  private async whenWritten(
    write: Promise<void>,
    last: { index: number; term: number } | undefined,
    held: Message[],
  ): Promise<void> {
    try {
      await write;
      if (this.stopped) return;
      for (const m of held) this.send(m);
      this.syncPeers();
      if (last) this.node.persisted(last.index, last.term);
    } catch (e) {
      // A write still in flight when the node stops finds its storage closed: not a failure.
      if (!this.stopped) this.fail(e);
    } finally {
      this.writing = null;
      this.kick();
    }
  }

  private send(m: Message): void {
    // The core sends a snapshot without its data: it streams from storage (snapshot_stream.ts).
    if (m.type === "snapshot") this.streams.offer(m.to, m.snapshot.meta, m.term);
    else this.deps.transport.send(m);
  }

  /** A snapshot from the leader that Raft accepted. Streamed ones are staged already. */
  private async saveReceived(snapshot: Snapshot): Promise<void> {
    const installed = await this.deps.storage.installStaged(snapshot.meta, snapshot.data.length);
    if (!installed) await this.deps.storage.saveSnapshot(snapshot);
  }

  private fail(e: unknown): void {
    if (this.stopped && this.failed) return;
    this.stopped = true;
    this.failed = true;
    (this.deps.fatal ?? ((err) => {
      throw err;
    }))(e);
  }

  /** Log compaction: every `snapshotEntries` applied entries, save the state machine and drop
   * the log before it. */
  private async maybeCompact(): Promise<void> {
    const index = this.sm.appliedIndex;
    // (A newer snapshot from the leader may be waiting in the next Ready: then this is < 0.)
    const behind = index - this.node.snapshotIndex;
    if (behind < this.cfg.snapshotEntries) return;
    // A snapshot being streamed stays readable until it is through, unless the log grows long.
    if (this.streams.sending && behind < SNAPSHOT_HOLD_MAX * this.cfg.snapshotEntries) return;
    const meta = this.node.snapshotMeta(index);
    await this.deps.storage.saveSnapshot({ meta, data: this.sm.snapshot() });
    this.node.compact(meta.index);
  }

  /** The leader reaps expired keys through the log, so every replica removes them alike. */
  private maybeSweep(): void {
    if (this.sweepPending || this.node.role !== "leader") return;
    const next = this.sm.nextExpiresAt();
    if (next === null || next > this.now()) return;
    this.sweepPending = true;
    this.write({ type: "sweep" }).then((o) => {
      if (o.type !== "applied") this.sweepPending = false;
    });
  }
}

function bootstrapConfig(cfg: ReplicaConfig): ConfigState {
  if (cfg.join) return { voters: [], learners: [] };
  const contexts: Record<NodeId, string> = {};
  for (const [id, a] of cfg.addresses ?? []) contexts[id] = encodeAddress(a);
  return { voters: [...cfg.voters].sort(), learners: [], contexts };
}

/** The voter (other than the leader) with the highest matchIndex. */
function bestTransferee(st: RaftStatus): NodeId | null {
  let best: NodeId | null = null;
  let bestMatch = -1;
  for (const id of st.config.voters) {
    const match = st.progress?.get(id)?.matchIndex ?? 0;
    if (id !== st.id && match > bestMatch) {
      best = id;
      bestMatch = match;
    }
  }
  return best;
}

function describeRefusal(r: ProposeResult): string | null {
  switch (r.type) {
    case "ok":
    case "forwarded":
      return null;
    case "noLeader":
      return "no leader";
    case "overloaded":
      return "too many uncommitted writes";
    case "transferring":
      return "leadership transfer in progress";
    case "rejected":
      return r.reason;
  }
}
