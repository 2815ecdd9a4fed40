// Pure unit tests of the benchmark's flag parsing (no cluster, no network).

import assert from "node:assert/strict";
import { type BenchArgsResult, type BenchOptions, parseBenchArgs } from "./args.ts";

function ok(result: BenchArgsResult): BenchOptions {
  if (result.type !== "ok") throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.options;
}

function errorOf(result: BenchArgsResult): string {
  if (result.type !== "error") throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result.message;
}

Deno.test("bench args: defaults follow API.md §7", () => {
  assert.deepEqual(ok(parseBenchArgs([])), {
    endpoints: null,
    clients: [1, 16, 64, 256],
    workloads: ["put", "get", "mix"],
    target: "raftkv",
    compare: false,
    via: "all",
    warmupSeconds: 1,
    seconds: 10,
    keys: 10_000,
    valueBytes: 100,
    rounds: 1,
    failover: false,
    failoverRuns: 5,
    tickMs: null,
    electionTicks: null,
  });
});

Deno.test("bench args: lists, numbers and endpoints (trailing slash dropped)", () => {
  const options = ok(parseBenchArgs([
    "--clients",
    "1, 64",
    "--workloads=mix,put",
    "--seconds",
    "0.5",
    "--warmup",
    "0",
    "--via",
    "leader",
    "--target",
    "etcd",
    "--endpoints",
    "http://127.0.0.1:7001/,http://h2:7002",
    "--rounds",
    "5",
  ]));
  assert.equal(options.rounds, 5);
  assert.deepEqual(options.clients, [1, 64]);
  assert.deepEqual(options.workloads, ["mix", "put"]);
  assert.equal(options.seconds, 0.5);
  assert.equal(options.warmupSeconds, 0);
  assert.equal(options.via, "leader");
  assert.equal(options.target, "etcd");
  assert.deepEqual(options.endpoints, ["http://127.0.0.1:7001", "http://h2:7002"]);
});

Deno.test("bench args: failover with runs and tuning", () => {
  const options = ok(parseBenchArgs([
    "--failover",
    "--failover-runs",
    "3",
    "--tick-ms",
    "25",
    "--election-ticks",
    "8",
  ]));
  assert.equal(options.failover, true);
  assert.equal(options.failoverRuns, 3);
  assert.equal(options.tickMs, 25);
  assert.equal(options.electionTicks, 8);
});

Deno.test("bench args: bad input names the flag", () => {
  assert.match(errorOf(parseBenchArgs(["--clients", "0"])), /--clients/);
  assert.match(errorOf(parseBenchArgs(["--clients", "1,x"])), /--clients/);
  assert.match(errorOf(parseBenchArgs(["--clients", ","])), /--clients/);
  assert.match(errorOf(parseBenchArgs(["--workloads", "put,scan"])), /"scan"/);
  assert.match(errorOf(parseBenchArgs(["--target", "some"])), /--target/);
  assert.match(errorOf(parseBenchArgs(["--seconds", "0"])), /--seconds/);
  assert.match(errorOf(parseBenchArgs(["--seconds", "-1"])), /--seconds/);
  assert.match(errorOf(parseBenchArgs(["--warmup", "abc"])), /--warmup/);
  assert.match(errorOf(parseBenchArgs(["--keys", "1.5"])), /--keys/);
  assert.match(errorOf(parseBenchArgs(["--rounds", "0"])), /--rounds/);
  assert.match(errorOf(parseBenchArgs(["--rounds", "51"])), /--rounds/);
  assert.match(errorOf(parseBenchArgs(["--endpoints", "ftp://x"])), /--endpoints/);
  assert.match(errorOf(parseBenchArgs(["--endpoints", "http://x/v1"])), /--endpoints/);
  assert.match(errorOf(parseBenchArgs(["--nope"])), /nope/);
  assert.match(errorOf(parseBenchArgs(["stray"])), /stray/);
});

Deno.test("bench args: flags that need the local cluster refuse --endpoints", () => {
  const endpoints = ["--endpoints", "http://127.0.0.1:7001"];
  assert.match(errorOf(parseBenchArgs([...endpoints, "--failover"])), /--failover/);
  assert.match(errorOf(parseBenchArgs([...endpoints, "--tick-ms", "10"])), /--tick-ms/);
});

Deno.test("bench args: --target names the system; the old endpoint choice gets a hint", () => {
  assert.match(errorOf(parseBenchArgs(["--target", "leader"])), /--via leader/);
  assert.match(errorOf(parseBenchArgs(["--via", "etcd"])), /--via/);
  const compare = ok(parseBenchArgs(["--compare", "--failover"]));
  assert.equal(compare.compare, true);
  assert.equal(compare.failover, true);
});

Deno.test("bench args: --compare starts both clusters; etcd needs 5+ election ticks", () => {
  const endpoints = ["--endpoints", "http://127.0.0.1:2379"];
  assert.match(errorOf(parseBenchArgs([...endpoints, "--compare"])), /--compare/);
  assert.match(
    errorOf(parseBenchArgs(["--target", "etcd", "--election-ticks", "4"])),
    /--election-ticks: etcd/,
  );
  assert.match(errorOf(parseBenchArgs(["--compare", "--election-ticks", "3"])), /etcd/);
  assert.equal(ok(parseBenchArgs(["--election-ticks", "3"])).electionTicks, 3);
  assert.equal(ok(parseBenchArgs([...endpoints, "--target", "etcd"])).target, "etcd");
});

Deno.test("bench args: --help", () => {
  const result = parseBenchArgs(["-h"]);
  assert.equal(result.type, "help");
});
