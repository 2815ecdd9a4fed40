// The nemesis: a seeded schedule of faults against a real cluster, one at a time, each held
// for a while and then healed, with quiet gaps between them.
//
// The seed fixes the schedule (which faults, how long, which victims among the candidates);
// which node is leader when a fault starts depends on timing, so a real-process run is not an
// exact replay — the seed reproduces the schedule, not every interleaving.
//
// While the leader is cut off from the majority the nemesis also probes it: writes and
// linearizable reads sent to it must not succeed until the partition heals (the old leader
// cannot commit, and a ReadIndex needs a quorum round it cannot get).

import { delay } from "../cluster/harness.ts";
import type { Rng } from "../rng.ts";
import type { ChaosCluster } from "./chaos_cluster.ts";
import type { History, HistoryOp } from "./history.ts";
import type { LinkMode } from "./proxy.ts";
import { keyName, perform } from "./workload.ts";

export type FaultType =
  | "killLeader"
  | "killFollower"
  | "killAll"
  | "pause"
  | "partitionMinority"
  | "isolateLeader"
  | "oneWay"
  | "lossy"
  | "slow";

export const FAULT_WEIGHTS: Readonly<Record<FaultType, number>> = {
  killLeader: 3,
  killFollower: 2,
  killAll: 1,
  pause: 2,
  partitionMinority: 2,
  isolateLeader: 3,
  oneWay: 2,
  lossy: 1,
  slow: 1,
};

/** Between probes of an isolated leader (they are refused at once once it steps down). */
const PROBE_GAP_MS = 50;

/** One planned fault: its draws are made when planning, so the plan is the seed's alone. */
export interface PlannedFault {
  type: FaultType;
  holdMs: number;
  gapMs: number;
  /** Draws in [0, 1) that pick victims among the candidates when the fault starts. */
  picks: number[];
  /** lossy: the drop probability; slow: the delay. */
  level: number;
}

/** What happened, for the summary and the history file. */
export interface FaultRecord {
  type: FaultType;
  targets: string[];
  startMs: number;
  healMs: number;
  detail: string;
}

export interface NemesisOptions {
  rng: Rng;
  cluster: ChaosCluster;
  history: History;
  keys: number;
  opTimeoutMs: number;
  /** Log one line per fault (main prints them; tests keep quiet). */
  log?: (line: string) => void;
}

export function planFault(rng: Rng, weights = FAULT_WEIGHTS): PlannedFault {
  const entries = Object.entries(weights) as [FaultType, number][];
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let roll = rng.next() * total;
  let type = entries[0][0];
  for (const [t, w] of entries) {
    roll -= w;
    if (roll < 0) {
      type = t;
      break;
    }
  }
  return {
    type,
    holdMs: rng.int(800, 3000),
    gapMs: rng.int(300, 1200),
    picks: [rng.next(), rng.next(), rng.next()],
    level: type === "lossy" ? 0.1 + 0.3 * rng.next() : rng.int(20, 150),
  };
}

/** Draw `pick` ∈ [0, 1) → one of `items`. */
function choose<T>(items: readonly T[], pick: number): T {
  return items[Math.floor(pick * items.length)];
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  /** Probe operations that succeeded against an isolated leader: each a violation. */
  readonly isolationViolations: string[] = [];
  private stopped = false;
  private running: Promise<void> | null = null;
  /** Probe keys come from their own stream, so the plan does not depend on probe counts. */
  private readonly probeRng: Rng;

  constructor(private readonly o: NemesisOptions) {
    this.probeRng = o.rng.fork();
  }

  start(): void {
    this.running = this.loop();
  }

  /** Stops after the fault in progress has been healed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const plan = planFault(this.o.rng);
      await this.run(plan);
      await this.sleep(plan.gapMs);
    }
  }

  /** Sleeps up to `ms`, or less once stopped. */
  private async sleep(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.stopped && performance.now() < until) {
      await delay(Math.max(1, Math.min(50, until - performance.now())));
    }
  }

  private async run(plan: PlannedFault): Promise<void> {
    const c = this.o.cluster;
    const startMs = this.o.history.nowMs();
    const record = (targets: string[], detail: string) => {
      const fault = { type: plan.type, targets, startMs, healMs: this.o.history.nowMs(), detail };
      this.faults.push(fault);
      this.o.log?.(
        `nemesis ${(startMs / 1000).toFixed(1)}s ${plan.type} ${targets.join(",")} ${detail}`,
      );
    };
    const ids = c.ids;
    switch (plan.type) {
      case "killLeader":
      case "killFollower": {
        const leader = await c.findLeader(1500);
        const candidates = plan.type === "killLeader" && leader !== null
          ? [leader]
          : ids.filter((id) => id !== leader);
        const victim = choose(candidates, plan.picks[0]);
        await c.kill(victim);
        await this.sleep(plan.holdMs);
        c.startNode(victim);
        return record([victim], leader === victim ? "was leader" : `leader ${leader}`);
      }
      case "killAll": {
        await Promise.all(ids.map((id) => c.kill(id)));
        await this.sleep(Math.min(plan.holdMs, 1000));
        for (const id of ids) c.startNode(id);
        return record(ids, "every node at once");
      }
      case "pause": {
        const leader = await c.findLeader(1500);
        const victim = plan.picks[1] < 0.5 && leader !== null ? leader : choose(ids, plan.picks[0]);
        c.pause(victim);
        await this.sleep(plan.holdMs);
        c.resume(victim);
        return record([victim], leader === victim ? "was leader" : `leader ${leader}`);
      }
      case "partitionMinority": {
        const size = 1 + Math.floor(plan.picks[1] * Math.floor((ids.length - 1) / 2));
        const shuffled = shuffle(ids, plan.picks[0]);
        const minority = shuffled.slice(0, size);
        const mode = partitionMode(plan);
        c.network.partition([minority, shuffled.slice(size)], mode);
        await this.sleep(plan.holdMs);
        c.network.heal();
        return record(minority, `minority cut off (${mode.type})`);
      }
      case "isolateLeader": {
        const leader = await c.findLeader(1500) ?? choose(ids, plan.picks[0]);
        const mode = partitionMode(plan);
        c.network.partition([[leader], ids.filter((id) => id !== leader)], mode);
        const probes = await this.probeIsolated(leader, plan.holdMs);
        const healMs = this.o.history.nowMs();
        c.network.heal();
        this.judgeProbes(leader, probes, healMs);
        return record([leader], `${mode.type}, ${probes.length} probes sent to it`);
      }
      case "oneWay": {
        const leader = await c.findLeader(1500) ?? choose(ids, plan.picks[0]);
        const other = choose(ids.filter((id) => id !== leader), plan.picks[1]);
        const [from, to] = plan.picks[2] < 0.5 ? [leader, other] : [other, leader];
        c.network.setLink(from, to, { type: "blackhole" });
        await this.sleep(plan.holdMs);
        c.network.heal();
        return record([from, to], `${from}→${to} blackholed (leader ${leader})`);
      }
      case "lossy":
      case "slow": {
        const mode: LinkMode = plan.type === "lossy"
          ? { type: "drop", probability: plan.level }
          : { type: "delay", delayMs: plan.level };
        c.network.setAll(mode);
        await this.sleep(plan.holdMs);
        c.network.heal();
        return record(ids, JSON.stringify(mode));
      }
    }
  }

  /** Writes and linearizable reads sent to the isolated node until `holdMs` passes. */
  private async probeIsolated(node: string, holdMs: number): Promise<HistoryOp[]> {
    const until = performance.now() + holdMs;
    const probes: HistoryOp[] = [];
    // Bytes already on the wire when the partition began may still arrive: give them a moment.
    await delay(100);
    let seq = 0;
    while (!this.stopped && performance.now() < until) {
      const key = keyName(this.probeRng.int(0, this.o.keys - 1));
      const timeoutMs = Math.max(100, Math.min(this.o.opTimeoutMs, until - performance.now()));
      const write = seq % 2 === 0;
      const request = {
        kind: write ? "put" as const : "get" as const,
        node,
        key,
        value: write ? `probe.${this.faults.length}.${seq}` : null,
        expectRevision: null,
      };
      seq++;
      await delay(PROBE_GAP_MS);
      probes.push(
        await perform(
          {
            ...this.o,
            opTimeoutMs: timeoutMs,
            endpoint: (id) => this.o.cluster.endpoint(id),
            http: this.o.cluster.http,
          },
          "probe",
          request,
        ),
      );
    }
    return probes;
  }

  private judgeProbes(node: string, probes: HistoryOp[], healMs: number): void {
    for (const op of probes) {
      const o = op.outcome;
      if (o === null || o.type === "failed" || o.type === "unknown") continue;
      if (op.completeMs !== null && op.completeMs < healMs) {
        this.isolationViolations.push(
          `op ${op.id}: ${op.kind} ${op.key} on ${node}, cut off from the majority, answered ${o.type} before the partition healed`,
        );
      }
    }
  }
}

/** Partitions mostly blackhole (silence); sometimes they cut (connections close, redials fail). */
function partitionMode(plan: PlannedFault): LinkMode {
  return plan.picks[2] < 0.3 ? { type: "cut" } : { type: "blackhole" };
}

/** A permutation of `items` from one draw (Fisher–Yates with a small LCG seeded by it). */
function shuffle<T>(items: readonly T[], pick: number): T[] {
  const out = [...items];
  let state = Math.floor(pick * 2 ** 31) | 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
