// `--compare` ratio lines: raftkv's number over etcd's for the same configuration, measured
// back to back in the same run. Pure, so it is unit-tested.

import type { FailoverReport } from "./failover.ts";
import type { LoadResult } from "./load.ts";
import type { Workload } from "./args.ts";

export interface LoadRatio {
  ratio: "raftkv/etcd";
  workload: Workload;
  clients: number;
  /** > 1: raftkv does more. */
  opsPerSec: number | null;
  /** < 1: raftkv is faster. */
  p50Ms: number | null;
  p99Ms: number | null;
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

export function loadRatio(raftkv: LoadResult, etcd: LoadResult): LoadRatio {
  return {
    ratio: "raftkv/etcd",
    workload: raftkv.workload,
    clients: raftkv.clients,
    opsPerSec: ratioOf(raftkv.opsPerSec, etcd.opsPerSec),
    p50Ms: ratioOf(raftkv.p50Ms, etcd.p50Ms),
    p99Ms: ratioOf(raftkv.p99Ms, etcd.p99Ms),
  };
}

export function failoverRatio(raftkv: FailoverReport, etcd: FailoverReport): FailoverRatio {
  return {
    ratio: "raftkv/etcd",
    workload: "failover",
    medianMs: ratioOf(raftkv.medianMs, etcd.medianMs),
  };
}
