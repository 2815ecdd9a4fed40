// Pure unit tests of the --compare ratio lines.

import assert from "node:assert/strict";
import { failoverRatio, loadRatio, medianOf, ratioOf } from "./compare.ts";
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
    rounds: 1,
  });
});

Deno.test("medianOf: each measure's own median over rounds; the ratio says how many", () => {
  const raftkv = medianOf([
    result("raftkv", 3000, 9, 40),
    result("raftkv", 1000, 20, 90), // a bad window on a noisy machine
    result("raftkv", 2800, 10, 50),
  ]);
  assert.deepEqual(raftkv, {
    workload: "put",
    clients: 64,
    opsPerSec: 2800,
    p50Ms: 10,
    p99Ms: 50,
  });
  const etcd = medianOf([result("etcd", 2000, 12, 60), result("etcd", 1600, 14, 80)]);
  assert.deepEqual(
    [etcd.opsPerSec, etcd.p50Ms, etcd.p99Ms],
    [1800, 13, 70],
    "even: the mean of two",
  );
  assert.deepEqual(loadRatio(raftkv, etcd, 3), {
    ratio: "raftkv/etcd",
    workload: "put",
    clients: 64,
    opsPerSec: 1.556,
    p50Ms: 0.769,
    p99Ms: 0.714,
    rounds: 3,
  });
  assert.throws(() => medianOf([]), /no rounds/);
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
