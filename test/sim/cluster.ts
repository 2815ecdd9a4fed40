// One seeded simulation: a cluster of simulated nodes, a faulty network, crashing disks, a
// nemesis and clients, run in two phases — faults, then healing — with the checker after every
// step. Everything random comes from the seed, so a seed replays exactly.

import type { Entry, NodeId, PlantedBugs, RaftConfig, ReadState } from "../../lib/raft/mod.ts";
import { InvariantError } from "../../lib/raft/mod.ts";
import { Checker } from "./checker.ts";
import { chooseProfile, type FaultProfile, Nemesis } from "./nemesis.ts";
import { type NetworkFaults, SimNetwork } from "./network.ts";
import { chooseRates, Reconfig, type ReconfigRates, SPARES } from "./reconfig.ts";
import { Rng } from "../rng.ts";
import { SimNode } from "./sim_node.ts";
import { Workload } from "./workload.ts";

/** Simulated steps per Raft tick. Election timeouts are 10–20 ticks. */
export const STEPS_PER_TICK = 10;
/** A run that sends more than this has a feedback loop (e.g. duplicates multiplying). */
const MESSAGES_MAX = 1_000_000;

class StormError extends Error {}

export interface SimOptions {
  seed: number;
  nodes: number;
  faultSteps: number;
  /** The liveness bound: once faults heal, every client's final write must commit and every
   * replica must apply all that is committed within this many steps. */
  healSteps: number;
  clients: number;
  keys: number;
  bugs: PlantedBugs;
  /** Membership changes and leadership transfers during the faults (reconfig.ts). */
  reconfig?: boolean;
}

/** Everything a seed chose about its run, for reading a failure. */
export interface SimSetup {
  net: NetworkFaults;
  faults: FaultProfile;
  tuning: Partial<RaftConfig>;
  syncDelayMax: number;
  snapshotEvery: number;
  /** With --reconfig: how often it changes membership and transfers leadership. */
  reconfig: ReconfigRates | null;
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
  /** Steps from healing until settled (final writes committed, replicas caught up); -1 if
   * the liveness bound ran out first. */
  settleSteps: number;
  setup: SimSetup;
  /** With --reconfig: membership changes the leader accepted (of them, removals of the leader
   * itself), those committed by kind, and leadership transfers started. */
  configChanges: number;
  leaderRemovals: number;
  committedChanges: Record<"addLearner" | "promote" | "remove", number>;
  transfers: number;
}

export class Simulation {
  private readonly net: SimNetwork;
  readonly nodes: SimNode[];
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly checker = new Checker();
  private readonly nemesis: Nemesis;
  private readonly workload: Workload;
  private readonly reconfig: Reconfig | null = null;
  private readonly setup: SimSetup;
  private now = 0;

  constructor(private readonly opts: SimOptions) {
    const r = new Rng(opts.seed);
    this.setup = { ...chooseSetup(r), reconfig: null };
    this.net = new SimNetwork(r.fork(), this.setup.net);
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    const hooks = {
      send: (m: Parameters<SimNetwork["send"]>[1]) => {
        this.net.send(this.now, m);
        this.nemesis.onSend(this.now, m);
      },
      applied: (n: SimNode, e: Entry, rev: number) => this.onApplied(n, e, rev),
      readState: (n: SimNode, rs: ReadState) => this.workload.onReadState(this.now, n, rs),
    };
    this.nodes = ids.map((id) =>
      new SimNode({
        id,
        bootstrap: { voters: ids, learners: [] },
        rng: r.fork(),
        bugs: opts.bugs,
        tuning: this.setup.tuning,
        syncDelayMax: this.setup.syncDelayMax,
        snapshotEvery: this.setup.snapshotEvery,
      }, hooks)
    );
    if (opts.reconfig) {
      // A fork of its own, so that runs without --reconfig stay exactly as they were.
      const rr = r.fork();
      this.setup.reconfig = chooseRates(rr);
      for (let i = 1; i <= SPARES; i++) {
        this.nodes.push(
          new SimNode({
            id: `n${opts.nodes + i}`,
            bootstrap: { voters: [], learners: [] }, // waits to be added, as --join does
            rng: rr.fork(),
            bugs: opts.bugs,
            tuning: this.setup.tuning,
            syncDelayMax: this.setup.syncDelayMax,
            snapshotEvery: this.setup.snapshotEvery,
          }, hooks),
        );
      }
      this.reconfig = new Reconfig(rr.fork(), this.setup.reconfig, this.nodes);
    }
    this.nemesis = new Nemesis(r.fork(), this.setup.faults, this.nodes, this.net);
    this.workload = new Workload(r.fork(), this.nodes, this.checker, opts.clients, opts.keys);
    for (const n of this.nodes) {
      this.byId.set(n.id, n);
      n.start();
    }
  }

  run(): SimResult {
    let settleSteps = -1;
    try {
      while (this.now < this.opts.faultSteps) {
        this.reconfig?.act();
        this.nemesis.act(this.now);
        this.step();
      }
      this.heal();
      const healedAt = this.now;
      while (this.now < healedAt + this.opts.healSteps && !this.settled()) this.step();
      if (this.settled()) {
        settleSteps = this.now - healedAt;
        this.checkConvergence();
      } else {
        this.failLiveness();
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
      writesAcked: this.workload.writesAcked,
      readsDone: this.workload.readsDone,
      crashes: this.nodes.reduce((s, n) => s + n.crashes, 0),
      messages: this.net.sent,
      settleSteps,
      setup: this.setup,
      configChanges: this.reconfig?.changesProposed ?? 0,
      leaderRemovals: this.reconfig?.leaderRemovals ?? 0,
      committedChanges: this.reconfig?.committed() ?? { addLearner: 0, promote: 0, remove: 0 },
      transfers: this.reconfig?.transfersStarted ?? 0,
    };
  }

  private step(): void {
    this.now++;
    for (const m of this.net.take(this.now)) this.byId.get(m.to)?.step(m);
    if (this.now % STEPS_PER_TICK === 0) {
      for (const n of this.nodes) n.raft?.tick();
    }
    this.workload.run(this.now);
    for (const n of this.nodes) n.process(this.now);
    this.checker.checkNodes(this.now, this.nodes);
    if (this.net.sent > MESSAGES_MAX) throw new StormError();
  }

  private heal(): void {
    this.nemesis.active = false;
    this.net.heal();
    this.net.faults = { dropRate: 0, duplicateRate: 0, delayMin: 1, delayMax: 5 };
    for (const n of this.nodes) if (!n.up) n.start();
    this.workload.beginFinal();
  }

  private settled(): boolean {
    return this.workload.pendingFinal() === 0 &&
      this.members().every((n) => n.raft && n.sm.applied === this.maxCommit());
  }

  /** The servers that must converge: all, or with --reconfig the members of the configuration
   * in force at the most advanced server (a removed one keeps running with what it had). */
  private members(): SimNode[] {
    if (!this.reconfig) return this.nodes;
    const up = this.nodes.filter((n) => n.raft);
    const ref = up.find((n) => n.raft!.role === "leader") ??
      up.reduce((a, b) => a.raft!.status().commitIndex >= b.raft!.status().commitIndex ? a : b);
    const ids = Reconfig.members(ref);
    return this.nodes.filter((n) => ids.has(n.id));
  }

  private maxCommit(): number {
    return Math.max(...this.nodes.map((n) => n.raft?.status().commitIndex ?? 0));
  }

  private failLiveness(): void {
    const { healSteps } = this.opts;
    const pending = this.workload.pendingFinal();
    const lagging = this.members().filter((n) => n.sm.applied !== this.maxCommit()).map((n) =>
      n.id
    );
    const leaders = this.nodes.filter((n) => n.raft?.role === "leader").map((n) => n.id);
    this.checker.fail(
      this.now,
      `liveness: not settled within the bound of ${healSteps} steps (${
        healSteps / STEPS_PER_TICK
      } ticks) after healing: ${pending} final writes uncommitted, lagging [${lagging}], leaders [${leaders}]`,
    );
  }

  private checkConvergence(): void {
    const prints = new Set(this.members().map((n) => n.sm.fingerprint()));
    if (prints.size !== 1) this.checker.fail(this.now, "replicas differ after convergence");
  }

  private onApplied(node: SimNode, e: Entry, revision: number): void {
    this.checker.onApplied(this.now, node, e);
    this.reconfig?.onApplied(e);
    this.workload.onApplied(this.now, node, e, revision);
  }
}

/** A seed's network, faults, core tuning and disk: some seeds gentle, some vicious. */
function chooseSetup(r: Rng): Omit<SimSetup, "reconfig"> {
  const net = {
    dropRate: r.pick([0, 0.01, 0.05, 0.15]),
    duplicateRate: r.pick([0, 0.02, 0.1]),
    delayMin: 1,
    delayMax: r.pick([2, 10, 30]),
  };
  const faults = chooseProfile(r);
  const tuning = {
    maxEntriesPerMessage: r.pick([1, 3, 256]),
    maxInflightAppends: r.pick([1, 4, 64]),
    preVote: r.chance(0.75),
  };
  let syncDelayMax = r.pick([0, 3, 20]);
  if (faults.kind === "termStart") {
    // Caps of one entry per append split a new leader's no-op from the older entries it
    // re-replicates, and quick disk writes let a struck leader keep what it appended: the
    // window of Figure 8 of the Raft paper.
    tuning.maxEntriesPerMessage = r.pick([1, 1, 3]);
    syncDelayMax = r.pick([0, 0, 3]);
  } else if (faults.kind === "durability") {
    syncDelayMax = r.pick([3, 20]); // strikes land while writes are in flight
  }
  return { net, faults, tuning, syncDelayMax, snapshotEvery: r.pick([20, 80, 1_000_000]) };
}
