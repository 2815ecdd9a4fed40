// Runs seeds through the simulator; shared by the CLI (main.ts) and the CI tests.

import type { PlantedBugs } from "../../lib/raft/mod.ts";
import { type SimOptions, type SimResult, Simulation } from "./cluster.ts";

export function simOptions(seed: number, nodes: number, bugs: PlantedBugs = {}): SimOptions {
  return {
    seed,
    nodes,
    faultSteps: 4_000,
    healSteps: 3_000,
    clients: 4,
    keys: 4,
    bugs,
  };
}

export function runSeed(seed: number, nodes: number, bugs: PlantedBugs = {}): SimResult {
  return new Simulation(simOptions(seed, nodes, bugs)).run();
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
  ms: number;
}

export function runSeeds(
  first: number,
  count: number,
  bugs: PlantedBugs = {},
  now: () => number = () => 0,
): Summary {
  const started = now();
  const s: Summary = {
    seeds: 0,
    steps: 0,
    failures: [],
    writesAcked: 0,
    readsDone: 0,
    crashes: 0,
    ms: 0,
  };
  for (let seed = first; seed < first + count; seed++) {
    const r = runSeed(seed, nodesForSeed(seed), bugs);
    s.seeds++;
    s.steps += r.steps;
    s.writesAcked += r.writesAcked;
    s.readsDone += r.readsDone;
    s.crashes += r.crashes;
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
