// One simulated server: the Raft core plus a shell that follows the Ready contract with a
// disk write that takes simulated time. Between issuing and syncing a write the node keeps
// stepping messages, as the real shell does; a crash in that window loses the write.
// As in lib/replica: a node whose term and vote are on disk does not wait for its own write
// to apply what is committed meanwhile (its acknowledgements do wait), and a hard state is
// written only with a new term or vote (commitIndex is volatile).

import {
  type ConfigState,
  DEFAULT_CONFIG,
  type Entry,
  type Message,
  type NodeId,
  type PlantedBugs,
  type RaftConfig,
  RaftNode,
  type ReadState,
  type Ready,
} from "../../lib/raft/mod.ts";
import { SimDisk } from "./disk.ts";
import type { Rng } from "../rng.ts";
import { decodeCommand, SimStateMachine } from "./state_machine.ts";

export interface SimNodeHooks {
  send(m: Message): void;
  applied(node: SimNode, entry: Entry, revision: number): void;
  readState(node: SimNode, rs: ReadState): void;
}

export interface SimNodeOptions {
  id: NodeId;
  bootstrap: ConfigState;
  rng: Rng;
  bugs: PlantedBugs;
  /** Per-seed variations of the core's tuning (message caps, pipelining, pre-vote). */
  tuning: Partial<RaftConfig>;
  syncDelayMax: number;
  snapshotEvery: number;
}

export class SimNode {
  readonly id: NodeId;
  readonly disk = new SimDisk();
  raft: RaftNode | null = null;
  sm = new SimStateMachine();
  /** The write in flight: with the rest of its Ready waiting for it, or (`overlapped`) a
   * write whose Ready was applied already and whose messages wait for it. */
  private inflight: { rd: Ready; syncAt: number; overlapped: boolean } | null = null;
  private appliedSinceSnapshot = 0;
  crashes = 0;

  constructor(private readonly opts: SimNodeOptions, private readonly hooks: SimNodeHooks) {
    this.id = opts.id;
  }

  get up(): boolean {
    return this.raft !== null;
  }

  start(): void {
    const d = this.disk;
    const hardState = { ...d.hardState };
    if (this.opts.bugs.forgetVotedFor) hardState.votedFor = null;
    this.raft = new RaftNode(
      {
        ...DEFAULT_CONFIG,
        ...this.opts.tuning,
        id: this.id,
        random: () => this.opts.rng.next(),
        bugs: this.opts.bugs,
      },
      {
        hardState,
        snapshot: d.snapshot?.meta ?? null,
        entries: [...d.entries],
        bootstrap: this.opts.bootstrap,
      },
    );
    this.sm = d.snapshot ? SimStateMachine.restore(d.snapshot.data) : new SimStateMachine();
    this.inflight = null;
    this.appliedSinceSnapshot = 0;
  }

  crash(): void {
    this.raft = null;
    this.inflight = null; // the unsynced write is lost
    this.crashes++;
  }

  /** Drives the Ready cycle one simulated step. */
  process(now: number): void {
    const raft = this.raft;
    if (!raft) return;
    if (this.inflight && now >= this.inflight.syncAt) {
      const { rd, overlapped } = this.inflight;
      this.inflight = null;
      if (overlapped) {
        this.sync(rd);
        for (const m of rd.messages) this.send(m);
        const last = rd.entries.at(-1);
        if (last) raft.persisted(last.index, last.term);
      } else {
        this.complete(raft, rd);
      }
    }
    if (this.inflight) {
      // Only an overlapped write lets Readies go on meanwhile, and those only apply.
      if (this.inflight.overlapped && raft.hasReady(false)) this.finish(raft, raft.ready(false));
      return;
    }
    if (!raft.hasReady()) return;
    const rd = raft.ready();
    // What the shell writes: entries, and the hard state only for a new term or vote.
    const d = this.disk.hardState;
    if (rd.hardState && rd.hardState.term === d.term && rd.hardState.votedFor === d.votedFor) {
      rd.hardState = null;
    }
    // A leader may send appends while its own write is in flight (§10.2.1); with the planted
    // bug every acknowledgement leaves before the write is durable.
    const early = this.opts.bugs.ackBeforePersist
      ? rd.messages
      : rd.messages.filter((m) => m.type === "append" || m.type === "heartbeat");
    for (const m of early) this.send(m);
    rd.messages = rd.messages.filter((m) => !early.includes(m));
    const delay = this.opts.rng.int(0, this.opts.syncDelayMax);
    const writes = rd.entries.length > 0 || rd.hardState !== null;
    if (delay > 0 && writes && raft.mayOverlapWrite(this.disk.hardState)) {
      // Apply now; the acknowledgements (rd.messages) wait for the write.
      this.inflight = { rd, syncAt: now + delay, overlapped: true };
      this.finish(raft, rd, false);
    } else if (delay === 0) {
      this.complete(raft, rd);
    } else {
      this.inflight = { rd, syncAt: now + delay, overlapped: false };
    }
  }

  private sync(rd: Ready): void {
    this.disk.sync({ entries: rd.entries, hardState: rd.hardState, snapshot: rd.snapshot });
  }

  private complete(raft: RaftNode, rd: Ready): void {
    this.sync(rd);
    for (const m of rd.messages) this.send(m);
    this.finish(raft, rd);
  }

  /** Apply, advance, answer reads, compact: the part of a Ready after its write and sends. */
  private finish(raft: RaftNode, rd: Ready, stable = true): void {
    if (rd.snapshot) {
      this.sm = SimStateMachine.restore(rd.snapshot.data);
      this.appliedSinceSnapshot = 0;
    }
    for (const e of rd.committedEntries) {
      if (e.type === "normal") {
        const revision = this.sm.apply(e.index, decodeCommand(e.data));
        this.hooks.applied(this, e, revision);
      } else {
        this.sm.skip(e.index);
        this.hooks.applied(this, e, -1);
      }
      this.appliedSinceSnapshot++;
    }
    raft.advance(rd, stable);
    for (const rs of rd.readStates) this.hooks.readState(this, rs);
    this.maybeSnapshot(raft);
  }

  private send(m: Message): void {
    if (m.type === "snapshot") {
      const s = this.disk.snapshot;
      if (!s || s.meta.index !== m.snapshot.meta.index) {
        this.raft?.reportSnapshot(m.to, false);
        return;
      }
      m = { ...m, snapshot: s };
    }
    this.hooks.send(m);
  }

  /** Log compaction: snapshot the state machine, save it durably, drop the log before it. */
  private maybeSnapshot(raft: RaftNode): void {
    if (this.appliedSinceSnapshot < this.opts.snapshotEvery) return;
    this.appliedSinceSnapshot = 0;
    const index = this.sm.applied;
    // A newer snapshot from the leader may be waiting for the next Ready: nothing to compact.
    if (index <= raft.status().snapshotIndex) return;
    const meta = raft.snapshotMeta(index);
    this.disk.saveSnapshot({ meta, data: this.sm.snapshot() });
    raft.compact(index);
  }

  step(m: Message): void {
    this.raft?.step(m);
  }
}
