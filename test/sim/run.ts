// Runs seeds through the simulator; shared by the CLI (main.ts) and the CI tests.

import type { PlantedBugs } from "../../lib/raft/mod.ts";
import { type SimOptions, type SimResult, Simulation, STEPS_PER_TICK } from "./cluster.ts";

/** The liveness bound: once faults heal, everything must settle within this many steps. */
export const LIVENESS_BOUND_STEPS = 3_000;
export const LIVENESS_BOUND_TICKS = LIVENESS_BOUND_STEPS / STEPS_PER_TICK;

export function simOptions(
  seed: number,
  nodes: number,
  bugs: PlantedBugs = {},
  reconfig = false,
): SimOptions {
  return {
    seed,
    nodes,
    faultSteps: 4_000,
    healSteps: LIVENESS_BOUND_STEPS,
    clients: 4,
    keys: 4,
    bugs,
    reconfig,
  };
}

export function runSeed(
  seed: number,
  nodes: number,
  bugs: PlantedBugs = {},
  reconfig = false,
): SimResult {
  return new Simulation(simOptions(seed, nodes, bugs, reconfig)).run();
}

/** Seeds alternate between 3- and 5-node clusters. */
export function nodesForSeed(seed: number): number {
  return seed % 2 === 0 ? 3 : 5;
}

export interface Summary {
  seeds: number;
  steps: number;
  failures: SimResult[];
  writesAcked: number;
  readsDone: number;
  crashes: number;
  /** With --reconfig: membership changes accepted and leadership transfers started. */
  configChanges: number;
  transfers: number;
  /** The slowest seed's steps from healing to settled, against LIVENESS_BOUND_STEPS. */
  settleStepsMax: number;
  ms: number;
}

export function runSeeds(
  first: number,
  count: number,
  bugs: PlantedBugs = {},
  now: () => number = () => 0,
  reconfig = false,
): Summary {
  const started = now();
  const s: Summary = {
    seeds: 0,
    steps: 0,
    failures: [],
    writesAcked: 0,
    readsDone: 0,
    crashes: 0,
    configChanges: 0,
    transfers: 0,
    settleStepsMax: 0,
    ms: 0,
  };
  for (let seed = first; seed < first + count; seed++) {
    const r = runSeed(seed, nodesForSeed(seed), bugs, reconfig);
    s.seeds++;
    s.configChanges += r.configChanges;
    s.transfers += r.transfers;
    s.steps += r.steps;
    s.writesAcked += r.writesAcked;
    s.readsDone += r.readsDone;
    s.crashes += r.crashes;
    s.settleStepsMax = Math.max(s.settleStepsMax, r.settleSteps);
    if (r.violations.length > 0) s.failures.push(r);
  }
  s.ms = now() - started;
  return s;
}

/** The first seed in [first, first+count) whose run reports a violation, or null. */
export function firstFailingSeed(
  first: number,
  count: number,
  bugs: PlantedBugs,
): SimResult | null {
  for (let seed = first; seed < first + count; seed++) {
    const r = runSeed(seed, nodesForSeed(seed), bugs);
    if (r.violations.length > 0) return r;
  }
  return null;
}

/** The command that replays one seed exactly. */
export function replayCommand(seed: number, bugs: PlantedBugs = {}, reconfig = false): string {
  const flags = Object.entries(bugs).filter(([, on]) => on).map(([name]) => ` --bug ${name}`);
  return `deno task sim --seed ${seed}${flags.join("")}${reconfig ? " --reconfig" : ""}`;
}

/** One line of JSON: what the CLI and the CI test print. */
export function summaryLine(s: Summary): string {
  return JSON.stringify({
    seeds: s.seeds,
    steps: s.steps,
    violations: s.failures.length,
    writesAcked: s.writesAcked,
    readsDone: s.readsDone,
    crashes: s.crashes,
    ...(s.configChanges + s.transfers > 0
      ? { configChanges: s.configChanges, transfers: s.transfers }
      : {}),
    settleStepsMax: s.settleStepsMax,
    livenessBoundSteps: LIVENESS_BOUND_STEPS,
    livenessBoundTicks: LIVENESS_BOUND_TICKS,
    seconds: Math.round(s.ms / 100) / 10,
  });
}
