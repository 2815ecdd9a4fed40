// One seeded simulation: a cluster of simulated nodes, a faulty network, crashing disks and
// clients, run in two phases — faults, then healing — with the checker after every step.

import type { Entry, NodeId, PlantedBugs, ReadState } from "../../lib/raft/mod.ts";
import { InvariantError } from "../../lib/raft/mod.ts";
import { Checker, type WriteRecord } from "./checker.ts";
import { SimNetwork } from "./network.ts";
import { Rng } from "./rng.ts";
import { SimNode } from "./sim_node.ts";
import { decodeCommand, encodeCommand } from "./state_machine.ts";

/** Simulated steps per Raft tick. Election timeouts are 10–20 ticks. */
const STEPS_PER_TICK = 10;
const OP_TIMEOUT_STEPS = 60 * STEPS_PER_TICK;
const RETRY_STEPS = 25 * STEPS_PER_TICK;
/** A run that sends more than this has a feedback loop (e.g. duplicates multiplying). */
const MESSAGES_MAX = 1_000_000;

class StormError extends Error {}

export interface SimOptions {
  seed: number;
  nodes: number;
  faultSteps: number;
  /** Bound for liveness: once faults heal, every client op completes within this many steps. */
  healSteps: number;
  clients: number;
  keys: number;
  bugs: PlantedBugs;
}

export interface SimResult {
  seed: number;
  nodes: number;
  steps: number;
  violations: string[];
  writesAcked: number;
  readsDone: number;
  crashes: number;
  messages: number;
}

type Op =
  | {
    kind: "put";
    node: SimNode;
    seq: number;
    key: string;
    value: string;
    start: number;
    write: WriteRecord;
  }
  | { kind: "get"; node: SimNode; ctx: number; key: string; start: number; index: number };

interface Client {
  id: number;
  seq: number;
  op: Op | null;
  nextAt: number;
  /** Heal phase: the write this client must see committed, retried until it is. */
  final: { seq: number; key: string; value: string; lastTry: number; done: boolean } | null;
}

export class Simulation {
  private readonly rng: Rng;
  private readonly net: SimNetwork;
  readonly nodes: SimNode[];
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly checker = new Checker();
  private readonly clients: Client[] = [];
  /** Every write a client issued, by key, and by its (unique) value. */
  private readonly writesByKey = new Map<string, WriteRecord[]>();
  private readonly writeByValue = new Map<string, WriteRecord>();
  private now = 0;
  private nextCtx = 1;
  private readsDone = 0;
  private writesAcked = 0;
  private faultRate: number;
  /** Nemesis: the chance that a newly elected leader is crashed within a few steps. */
  private leaderKillRate: number;
  private scheduled: { at: number; node: SimNode; action: "crash" | "restart" }[] = [];
  private leaders = new Set<NodeId>();

  constructor(private readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    const r = this.rng;
    this.net = new SimNetwork(r.fork(), {
      dropRate: r.pick([0, 0.01, 0.05, 0.15]),
      duplicateRate: r.pick([0, 0.02, 0.1]),
      delayMin: 1,
      delayMax: r.pick([2, 10, 30]),
    });
    this.faultRate = r.pick([0.001, 0.003, 0.008, 0.03]);
    this.leaderKillRate = r.pick([0, 0, 0.3, 0.7]);
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const hooks = {
      send: (m: Parameters<SimNetwork["send"]>[1]) => this.net.send(this.now, m),
      applied: (n: SimNode, e: Entry, rev: number) => this.onApplied(n, e, rev),
      readState: (n: SimNode, rs: ReadState) => this.onReadState(n, rs),
    };
    const syncDelayMax = r.pick([0, 3, 20]);
    const snapshotEvery = r.pick([20, 80, 1_000_000]);
    const tuning = {
      maxEntriesPerMessage: r.pick([1, 3, 256]),
      maxInflightAppends: r.pick([1, 4, 64]),
      preVote: r.chance(0.75),
    };
    this.nodes = ids.map((id) =>
      new SimNode({
        id,
        bootstrap: { voters: ids, learners: [] },
        rng: r.fork(),
        bugs: opts.bugs,
        tuning,
        syncDelayMax,
        snapshotEvery,
      }, hooks)
    );
    for (const n of this.nodes) {
      this.byId.set(n.id, n);
      n.start();
    }
    for (let c = 0; c < opts.clients; c++) {
      this.clients.push({ id: c, seq: 0, op: null, nextAt: r.int(0, 50), final: null });
    }
  }

  run(): SimResult {
    const { faultSteps, healSteps } = this.opts;
    try {
      while (this.now < faultSteps) {
        this.injectFaults();
        this.killNewLeaders();
        this.step();
      }
      if (this.net.sent > MESSAGES_MAX) throw new StormError();
      this.heal();
      const deadline = this.now + healSteps;
      while (this.now < deadline && !this.settled()) {
        this.step();
        if (this.net.sent > MESSAGES_MAX) throw new StormError();
      }
      if (!this.settled()) {
        const pending = this.clients.filter((c) => !c.final?.done).length;
        const leaders = this.nodes.filter((n) => n.raft?.status().role === "leader").map((n) =>
          n.id
        );
        this.checker.fail(
          this.now,
          `liveness: ${pending} client writes not committed ${healSteps} steps after healing (leaders: ${
            leaders.join(",") || "none"
          })`,
        );
      } else {
        this.checkConvergence();
      }
    } catch (e) {
      if (e instanceof StormError) {
        this.checker.fail(this.now, `message storm: over ${MESSAGES_MAX} messages sent`);
      } else if (e instanceof InvariantError) {
        this.checker.fail(this.now, `invariant broken: ${e.message}`);
      } else {
        throw e;
      }
    }
    return {
      seed: this.opts.seed,
      nodes: this.opts.nodes,
      steps: this.now,
      violations: this.checker.violations,
      writesAcked: this.writesAcked,
      readsDone: this.readsDone,
      crashes: this.nodes.reduce((s, n) => s + n.crashes, 0),
      messages: this.net.sent,
    };
  }

  private step(): void {
    this.now++;
    for (const m of this.net.take(this.now)) this.byId.get(m.to)?.step(m);
    if (this.now % STEPS_PER_TICK === 0) {
      for (const n of this.nodes) n.raft?.tick();
    }
    this.runClients();
    for (const n of this.nodes) n.process(this.now);
    this.checker.checkNodes(this.now, this.nodes);
  }

  // ---------------------------------------------------------------- faults

  private injectFaults(): void {
    const r = this.rng;
    if (!r.chance(this.faultRate)) return;
    const up = this.nodes.filter((n) => n.up);
    const down = this.nodes.filter((n) => !n.up);
    const choice = r.int(0, 6);
    if (choice === 0 && up.length > 0) {
      r.pick(up).crash();
    } else if (choice === 1 && down.length > 0) {
      r.pick(down).start();
    } else if (choice === 2 || choice === 3) {
      const ids = this.nodes.map((n) => n.id);
      const cut = r.int(1, ids.length - 1);
      const shuffled = ids.map((id) => ({ id, k: r.next() })).sort((a, b) => a.k - b.k)
        .map((x) => x.id);
      this.net.partition(shuffled.slice(0, cut), shuffled.slice(cut), choice === 3);
    } else if (choice === 4) {
      this.net.heal();
    } else if (choice === 5 && up.length > 0) {
      // A fast reboot: whatever was not yet synced is lost, and the node is back at once.
      const n = r.pick(up);
      n.crash();
      n.start();
    } else {
      // Crash a leader: the most disruptive single fault.
      const leader = up.find((n) => n.raft?.status().role === "leader");
      leader?.crash();
    }
  }

  /** Crashes some leaders right after their election, before their first entries spread,
   * and brings them back soon after: the schedule behind Figure 8 of the Raft paper. */
  private killNewLeaders(): void {
    for (const n of this.nodes) {
      const isLeader = n.raft?.status().role === "leader";
      if (isLeader && !this.leaders.has(n.id) && this.rng.chance(this.leaderKillRate)) {
        this.scheduled.push({ at: this.now + this.rng.int(0, 30), node: n, action: "crash" });
      }
      if (isLeader) this.leaders.add(n.id);
      else this.leaders.delete(n.id);
    }
    const due = this.scheduled.filter((s) => s.at <= this.now);
    this.scheduled = this.scheduled.filter((s) => s.at > this.now);
    for (const s of due) {
      if (s.action === "crash" && s.node.up) {
        s.node.crash();
        this.scheduled.push({
          at: this.now + this.rng.int(20, 300),
          node: s.node,
          action: "restart",
        });
      } else if (s.action === "restart" && !s.node.up) {
        s.node.start();
      }
    }
  }

  private heal(): void {
    this.net.heal();
    this.net.faults = { dropRate: 0, duplicateRate: 0, delayMin: 1, delayMax: 5 };
    for (const n of this.nodes) if (!n.up) n.start();
    for (const c of this.clients) {
      c.final = {
        seq: 1_000_000 + c.id,
        key: `k${c.id % this.opts.keys}`,
        value: `final-${c.id}`,
        lastTry: -Infinity,
        done: false,
      };
    }
  }

  private settled(): boolean {
    return this.clients.every((c) => c.final?.done) &&
      this.nodes.every((n) => n.raft && n.sm.applied === this.maxCommit());
  }

  private maxCommit(): number {
    return Math.max(...this.nodes.map((n) => n.raft?.status().commitIndex ?? 0));
  }

  private checkConvergence(): void {
    const prints = new Set(this.nodes.map((n) => n.sm.fingerprint()));
    if (prints.size !== 1) this.checker.fail(this.now, "replicas differ after convergence");
  }

  // ---------------------------------------------------------------- clients

  private runClients(): void {
    for (const c of this.clients) {
      if (c.final) this.runFinal(c);
      else this.runClient(c);
    }
  }

  private runClient(c: Client): void {
    const op = c.op;
    if (op) {
      if (!op.node.up || this.now - op.start > OP_TIMEOUT_STEPS) c.op = null; // indeterminate
      return;
    }
    if (this.now < c.nextAt) return;
    c.nextAt = this.now + this.rng.int(1, 40);
    const up = this.nodes.filter((n) => n.up);
    if (up.length === 0) return;
    const node = this.rng.pick(up);
    const key = `k${this.rng.int(0, this.opts.keys - 1)}`;
    if (this.rng.chance(0.6)) {
      const seq = ++c.seq;
      const value = `c${c.id}s${seq}`;
      const res = node.raft!.propose(encodeCommand({ c: c.id, s: seq, k: key, v: value }));
      if (res.type !== "ok" && res.type !== "forwarded") return; // refused: not applied
      const write: WriteRecord = { key, value, revision: 0, ackedAt: Infinity };
      const list = this.writesByKey.get(key);
      if (list) list.push(write);
      else this.writesByKey.set(key, [write]);
      this.writeByValue.set(value, write);
      c.op = { kind: "put", node, seq, key, value, start: this.now, write };
    } else {
      const ctx = this.nextCtx++;
      c.op = { kind: "get", node, ctx, key, start: this.now, index: -1 };
      node.raft!.readIndex(ctx);
    }
  }

  private runFinal(c: Client): void {
    const f = c.final!;
    if (f.done || this.now - f.lastTry < RETRY_STEPS) return;
    const up = this.nodes.filter((n) => n.up);
    const node = this.rng.pick(up);
    f.lastTry = this.now;
    node.raft!.propose(encodeCommand({ c: c.id, s: f.seq, k: f.key, v: f.value }));
  }

  private onApplied(node: SimNode, e: Entry, revision: number): void {
    this.checker.onApplied(this.now, node, e);
    if (e.type !== "normal") {
      this.finishReads(node);
      return;
    }
    const cmd = decodeCommand(e.data);
    const c = this.clients[cmd.c];
    if (c.final && c.final.seq === cmd.s) c.final.done = true;
    const op = c.op;
    if (op?.kind === "put" && op.node === node && op.seq === cmd.s && revision > 0) {
      op.write.revision = revision;
      op.write.ackedAt = this.now;
      this.writesAcked++;
      c.op = null;
    }
    // Any write that took effect gets its revision, acknowledged or not.
    const w = this.writeByValue.get(cmd.v);
    if (w && revision === e.index) w.revision = revision;
    this.finishReads(node);
  }

  private onReadState(node: SimNode, rs: ReadState): void {
    for (const c of this.clients) {
      const op = c.op;
      if (op?.kind !== "get" || op.ctx !== rs.ctx || op.node !== node) continue;
      if (rs.index === 0) c.op = null; // refused: retry later
      else op.index = rs.index;
    }
    this.finishReads(node);
  }

  /** Completes reads whose read index the node has applied. */
  private finishReads(node: SimNode): void {
    for (const c of this.clients) {
      const op = c.op;
      if (op?.kind !== "get" || op.node !== node || op.index < 0) continue;
      if (node.sm.applied < op.index) continue;
      const seen = node.sm.kv.get(op.key)?.rev ?? 0;
      this.checker.checkRead(this.now, op.key, op.start, seen, this.writesByKey.get(op.key) ?? []);
      this.readsDone++;
      c.op = null;
    }
  }
}
