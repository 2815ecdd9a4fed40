// `deno task bench` — the raftkv load generator (API.md §7).
//
// Usage:
//   deno task bench [--clients 1,16,64,256] [--workloads put,get,mix] [--seconds 10]
//                   [--warmup 1] [--target all|leader] [--keys 10000] [--value-bytes 100]
//                   [--endpoints http://h1:7001,http://h2:7002,...]
//                   [--tick-ms N] [--election-ticks N]
//   deno task bench --failover [--failover-runs 5] [--tick-ms N] [--election-ticks N]
//
// Without --endpoints it starts its own 3-node cluster (nodes.json in a temp dir, free
// loopback ports, one `deno run main.ts --id nX` child per node), waits for a stable
// leader, and at the end kills every child by PID and removes the temp dir — also on an
// error, Ctrl-C or SIGTERM. With --endpoints it drives an existing cluster and starts
// nothing (then --failover, --tick-ms and --election-ticks are refused).
//
// Load: for each workload, then each client count C, C closed-loop clients (one request in
// flight each) run for --warmup seconds unrecorded, then --seconds measured. Workloads:
//   put   PUT /v1/kv/bench-<k>, a --value-bytes value (the same buffer every time)
//   get   GET /v1/kv/bench-<k>, linearizable (the API's default)
//   mix   90% get, 10% put
// Keys k are uniform over --keys. Every key is written once before the first get or mix
// run. --target all: each client sends request after request round-robin over every
// endpoint (followers forward writes and get ReadIndex from the leader); --target leader:
// only to the node that leads when the configuration starts. Connections are kept alive
// and every response body is read to the end.
//
// Output: stdout gets one JSON line per configuration,
//   {"workload","clients","ops","opsPerSec","p50Ms","p90Ms","p99Ms","maxMs","errors",
//    "errorsByClass":{"3xx","4xx","5xx","network"},"seconds"}
// where ops counts successful requests completed in the measured window, latencies are
// over those (log-linear histogram, < 1.6% error; maxMs exact), errors counts the rest
// (a client backs off 10 ms after each), and seconds is the window's real length.
// stderr gets progress, the load average, and per configuration the CPU used — by this
// generator and by each node — in percent of one core (it shares the box with the nodes).
//
// --failover: kill -9 the leader; a client issues a PUT every 10 ms, round-robin over the
// survivors (not waiting for hung attempts); the time from the kill to the first
// acknowledged PUT is the run's recoveryMs. The killed node is restarted on its data and
// the cluster must agree on one leader for 1 s before the next run. One JSON line:
//   {"workload":"failover","runs":[{"run","killed","term","recoveryMs","okIssuedMs","okVia",
//    "newLeader","newTerm","attempts","failures"}...],"medianMs","tickMs","electionTicks"}
//
// Exit code: 0 done, 1 failed (with the nodes' recent output on stderr), 2 bad flags,
// 130 interrupted. Never part of `deno task test` (only pure helper tests live here).

import { type BenchOptions, parseBenchArgs, type Workload } from "./args.ts";
import { loadAverage, percentOfCore, processCpuMs, selfCpuMs } from "./cpu.ts";
import { runFailover } from "./failover.ts";
import {
  buildTargets,
  type LoadResult,
  makeValue,
  prepopulate,
  runLoad,
  type Targets,
} from "./load.ts";
import { LocalCluster } from "./local_cluster.ts";
import { waitForStableLeader } from "./status.ts";

const LEADER_WAIT_MS = 60_000;
/** Between configurations: the leader must hold this long (no run starts mid-election). */
const SETTLE_MS = 300;

function log(line: string): void {
  console.error(`bench: ${line}`);
}

function loadText(): string {
  const load = loadAverage();
  return load === null ? "loadavg unknown" : `loadavg ${load.toFixed(2)}`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  switch (parsed.type) {
    case "help":
      console.log(parsed.text);
      return 0;
    case "error":
      console.error(`bench: ${parsed.message}`);
      return 2;
    case "ok":
      return await run(parsed.options);
    default:
      return assertNever(parsed);
  }
}

async function run(options: BenchOptions): Promise<number> {
  let cluster: LocalCluster | null = null;
  const onSignal = () => {
    log("interrupted: killing the bench cluster");
    cluster?.killAllNow();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const httpClient = Deno.createHttpClient({});
  try {
    if (options.endpoints === null) {
      cluster = await LocalCluster.start(3, options);
      log(
        `started 3 nodes in ${cluster.dir} (tickMs ${cluster.config.tickMs}, ` +
          `electionTicks ${cluster.config.electionTicks}): ${cluster.endpoints.join(" ")}`,
      );
    }
    const endpoints = cluster?.endpoints ?? options.endpoints ?? [];
    // Our own nodes must all be up; an existing cluster may be measured degraded.
    const requireAll = cluster !== null;
    const leader = await waitForStableLeader(endpoints, LEADER_WAIT_MS, SETTLE_MS, requireAll);
    log(`leader ${leader.id} (term ${leader.term}); ${loadText()}`);
    const value = makeValue(options.valueBytes);
    if (options.failover) {
      if (cluster === null) throw new Error("--failover needs the local cluster");
      const report = await runFailover(cluster, options.failoverRuns, value, log);
      console.log(JSON.stringify(report));
    } else {
      await runLoads(options, endpoints, value, httpClient, cluster, requireAll);
    }
    log(`done; ${loadText()}`);
    return 0;
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    if (cluster !== null) console.error(`recent node output:\n${cluster.dump()}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    httpClient.close();
    await cluster?.close();
  }
}

async function runLoads(
  options: BenchOptions,
  endpoints: string[],
  value: Uint8Array<ArrayBuffer>,
  httpClient: Deno.HttpClient,
  cluster: LocalCluster | null,
  requireAll: boolean,
): Promise<void> {
  const allTargets = buildTargets(endpoints, options.keys);
  let populated = false;
  for (const workload of options.workloads) {
    if (workload !== "put" && !populated) {
      const startMs = performance.now();
      await prepopulate(allTargets, value, httpClient);
      populated = true;
      log(`wrote ${options.keys} keys in ${Math.round(performance.now() - startMs)} ms`);
    }
    for (const clients of options.clients) {
      const leader = await waitForStableLeader(endpoints, LEADER_WAIT_MS, SETTLE_MS, requireAll);
      const targets = options.target === "all"
        ? allTargets
        : buildTargets([leader.client], options.keys);
      const cpu = new CpuWindow(cluster?.pids() ?? new Map());
      const result = await runLoad({
        workload,
        clients,
        targets,
        value,
        warmupMs: options.warmupSeconds * 1000,
        measureMs: options.seconds * 1000,
        httpClient,
      }, (edge) => edge === "start" ? cpu.start() : cpu.end());
      console.log(JSON.stringify(result));
      log(describe(workload, clients, targets, result, cpu));
    }
  }
}

function describe(
  workload: Workload,
  clients: number,
  targets: Targets,
  result: LoadResult,
  cpu: CpuWindow,
): string {
  return `${workload} x${clients} over ${targets.endpoints.length} endpoint(s): ` +
    `${result.opsPerSec} ops/s, p99 ${result.p99Ms} ms, ${result.errors} errors; ` +
    `cpu % of one core: ${cpu.text()}; ${loadText()}`;
}

/** CPU time of this process and of each node across the measured window. */
class CpuWindow {
  private wallMs = 0;
  private selfMs = 0;
  private readonly nodeMs = new Map<string, number | null>();

  constructor(private readonly pids: Map<string, number>) {}

  start(): void {
    this.wallMs = performance.now();
    this.selfMs = selfCpuMs();
    for (const [id, pid] of this.pids) this.nodeMs.set(id, processCpuMs(pid));
  }

  end(): void {
    this.wallMs = performance.now() - this.wallMs;
    this.selfMs = selfCpuMs() - this.selfMs;
    for (const [id, pid] of this.pids) {
      const before = this.nodeMs.get(id) ?? null;
      const after = processCpuMs(pid);
      this.nodeMs.set(id, before === null || after === null ? null : after - before);
    }
  }

  text(): string {
    const parts = [`generator ${percentOfCore(this.selfMs, this.wallMs)}`];
    for (const [id, ms] of this.nodeMs) {
      parts.push(`${id} ${ms === null ? "?" : percentOfCore(ms, this.wallMs)}`);
    }
    return parts.join(", ");
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected: ${JSON.stringify(value)}`);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
