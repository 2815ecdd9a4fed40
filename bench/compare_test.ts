// Pure unit tests of the --compare ratio lines.

import assert from "node:assert/strict";
import { failoverRatio, loadRatio, ratioOf } from "./compare.ts";
import type { FailoverReport } from "./failover.ts";
import type { LoadResult } from "./load.ts";
import type { System } from "./systems.ts";

function result(system: System, opsPerSec: number, p50Ms: number, p99Ms: number): LoadResult {
  return {
    system,
    workload: "put",
    clients: 64,
    ops: opsPerSec * 5,
    opsPerSec,
    p50Ms,
    p90Ms: p50Ms,
    p99Ms,
    maxMs: p99Ms,
    errors: 0,
    errorsByClass: { "3xx": 0, "4xx": 0, "5xx": 0, network: 0 },
    seconds: 5,
  };
}

Deno.test("ratioOf: 3 decimals; nothing to divide by gives null", () => {
  assert.equal(ratioOf(2, 3), 0.667);
  assert.equal(ratioOf(1, 0), null);
  assert.equal(ratioOf(null, 3), null);
  assert.equal(ratioOf(3, null), null);
});

Deno.test("loadRatio: raftkv over etcd, per measure", () => {
  assert.deepEqual(loadRatio(result("raftkv", 9000, 2, 10), result("etcd", 4000, 4, 8)), {
    ratio: "raftkv/etcd",
    workload: "put",
    clients: 64,
    opsPerSec: 2.25,
    p50Ms: 0.5,
    p99Ms: 1.25,
  });
});

Deno.test("failoverRatio: medians; a system with no recovered run gives null", () => {
  const report = (system: System, medianMs: number | null): FailoverReport => ({
    system,
    workload: "failover",
    runs: [],
    medianMs,
    tickMs: 50,
    electionTicks: 10,
  });
  assert.equal(failoverRatio(report("raftkv", 700), report("etcd", 1400)).medianMs, 0.5);
  assert.equal(failoverRatio(report("raftkv", 700), report("etcd", null)).medianMs, null);
});
