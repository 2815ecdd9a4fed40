// `--compare` ratio lines: raftkv's number over etcd's for the same configuration, measured
// back to back in the same run (with --rounds, the medians of each system's rounds). Pure, so
// it is unit-tested.

import type { FailoverReport } from "./failover.ts";
import { median } from "./histogram.ts";
import type { LoadResult } from "./load.ts";
import type { Workload } from "./args.ts";

/** What a ratio compares: one measurement, or the per-measure medians of several. */
export type Measured = Pick<LoadResult, "workload" | "clients" | "opsPerSec" | "p50Ms" | "p99Ms">;

export interface LoadRatio {
  ratio: "raftkv/etcd";
  workload: Workload;
  clients: number;
  /** > 1: raftkv does more. */
  opsPerSec: number | null;
  /** < 1: raftkv is faster. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Measurements per system behind each number (their medians when more than one). */
  rounds: number;
}

export interface FailoverRatio {
  ratio: "raftkv/etcd";
  workload: "failover";
  /** < 1: raftkv takes writes again sooner. */
  medianMs: number | null;
}

/** a / b to 3 decimals; null when either is missing or b is 0 (no meaningful ratio). */
export function ratioOf(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  return Math.round((a / b) * 1000) / 1000;
}

/** Each measure's median over the rounds of one system's configuration (not empty). */
export function medianOf(rounds: readonly LoadResult[]): Measured {
  if (rounds.length === 0) throw new Error("medianOf: no rounds");
  const of = (pick: (r: LoadResult) => number) => median(rounds.map(pick));
  return {
    workload: rounds[0].workload,
    clients: rounds[0].clients,
    opsPerSec: of((r) => r.opsPerSec),
    p50Ms: of((r) => r.p50Ms),
    p99Ms: of((r) => r.p99Ms),
  };
}

export function loadRatio(raftkv: Measured, etcd: Measured, rounds = 1): LoadRatio {
  return {
    ratio: "raftkv/etcd",
    workload: raftkv.workload,
    clients: raftkv.clients,
    opsPerSec: ratioOf(raftkv.opsPerSec, etcd.opsPerSec),
    p50Ms: ratioOf(raftkv.p50Ms, etcd.p50Ms),
    p99Ms: ratioOf(raftkv.p99Ms, etcd.p99Ms),
    rounds,
  };
}

export function failoverRatio(raftkv: FailoverReport, etcd: FailoverReport): FailoverRatio {
  return {
    ratio: "raftkv/etcd",
    workload: "failover",
    medianMs: ratioOf(raftkv.medianMs, etcd.medianMs),
  };
}
