// `deno task bench` — the raftkv load generator (API.md §7), and a side-by-side with etcd.
//
// Usage:
//   deno task bench [--clients 1,16,64,256] [--workloads put,get,mix] [--seconds 10]
//                   [--warmup 1] [--via all|leader] [--keys 10000] [--value-bytes 100]
//                   [--target raftkv|etcd] [--compare] [--rounds 1]
//                   [--endpoints http://h1:7001,http://h2:7002,...]
//                   [--tick-ms N] [--election-ticks N]
//   deno task bench --failover [--failover-runs 5] [--target raftkv|etcd] [--compare] ...
//
// Without --endpoints it starts its own 3-node cluster in a temp dir on free loopback ports
// — raftkv: nodes.json and one `deno run main.ts --id nX` child per node; --target etcd: a
// static 3-member etcd cluster (Debian's etcd 3.4, `etcd` on the PATH) — waits for a
// stable leader, and at the end kills every child by PID and removes the temp dir, also on
// an error, Ctrl-C or SIGTERM. With --endpoints it drives an existing cluster and starts
// nothing (then --failover, --tick-ms and --election-ticks are refused). --compare starts
// both systems (raftkv first) and runs every configuration on raftkv, then on etcd, so
// both see the same box within seconds of each other; a ratio line follows each pair.
//
// Load: for each workload, then each client count C, C closed-loop clients (one request in
// flight each) run for --warmup seconds unrecorded, then --seconds measured. Workloads:
//   put   raftkv: PUT /v1/kv/bench-<k>       etcd: POST /v3/kv/put {key, value} (base64)
//   get   raftkv: GET /v1/kv/bench-<k>       etcd: POST /v3/kv/range {key} — both linearizable
//   mix   90% get, 10% put
// Values are --value-bytes long, keys k uniform over --keys; every key is written once
// before the first get or mix run. --via all: each client sends request after request
// round-robin over every endpoint (followers forward writes and get a ReadIndex from the
// leader, in both systems); --via leader: only to the node that leads when the
// configuration starts. Connections are kept alive and every response body is read.
//
// Output: stdout gets one JSON line per system and configuration,
//   {"system","workload","clients","ops","opsPerSec","p50Ms","p90Ms","p99Ms","maxMs",
//    "errors","errorsByClass":{"3xx","4xx","5xx","network"},"seconds"}
// where ops counts successful requests completed in the measured window, latencies are
// over those (log-linear histogram, < 1.6% error; maxMs exact), errors counts the rest
// (a client backs off 10 ms after each), and seconds is the window's real length. With
// --rounds N > 1 each configuration is measured N times per system (lines carry "round"; with
// --compare the systems take turns and the first alternates, round by round). With
// --compare each configuration ends with
//   {"ratio":"raftkv/etcd","workload","clients","opsPerSec","p50Ms","p99Ms","rounds"}
// over the medians of each system's rounds (the measurements themselves when N is 1).
// stderr gets progress, the load average, and per configuration the CPU used — by this
// generator and by each node of every cluster — in percent of one core.
//
// --failover: kill -9 the leader; a client issues a put every 10 ms, round-robin over the
// survivors (not waiting for hung attempts); the time from the kill to the first
// acknowledged put is the run's recoveryMs. The killed node is restarted on its data and
// the cluster must agree on one leader for 1 s before the next run (with --compare the
// systems take turns, run by run). One JSON line per system:
//   {"system","workload":"failover","runs":[{"run","killed","term","recoveryMs",
//    "okIssuedMs","okVia","newLeader","newTerm","attempts","failures"}...],"medianMs",
//    "tickMs","electionTicks"}
// (etcd: tickMs is its heartbeat interval, electionTicks its election timeout in those),
// and with --compare {"ratio":"raftkv/etcd","workload":"failover","medianMs"}.
//
// Exit code: 0 done, 1 failed (with the nodes' recent output on stderr), 2 bad flags,
// 130 interrupted. Never part of `deno task test` (only pure helper tests live here).

import { type BenchOptions, parseBenchArgs, type Workload } from "./args.ts";
import { failoverRatio, loadRatio, medianOf } from "./compare.ts";
import { loadAverage, percentOfCore, processCpuMs, selfCpuMs } from "./cpu.ts";
import { LocalEtcdCluster } from "./etcd_cluster.ts";
import { failoverOnce, failoverReport, type FailoverRun, settle } from "./failover.ts";
import { buildTargets, type LoadResult, makeValue, prepopulate, runLoad } from "./load.ts";
import { LocalCluster } from "./local_cluster.ts";
import { waitForStableLeader } from "./status.ts";
import { assertNever, type BenchCluster, type Dialect, dialectOf, type System } from "./systems.ts";

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

/** One system under load: its dialect, endpoints, and the cluster if the bench started it. */
interface Subject {
  dialect: Dialect;
  endpoints: string[];
  cluster: BenchCluster | null;
  /** Our own nodes must all be up; an existing cluster may be measured degraded. */
  requireAll: boolean;
}

async function run(options: BenchOptions): Promise<number> {
  const clusters: BenchCluster[] = [];
  const onSignal = () => {
    log("interrupted: killing the bench cluster(s)");
    for (const cluster of clusters) cluster.killAllNow();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const httpClient = Deno.createHttpClient({});
  try {
    const value = makeValue(options.valueBytes);
    const systems: System[] = options.compare ? ["raftkv", "etcd"] : [options.target];
    const subjects: Subject[] = [];
    // One after the other: a cluster's ports are only safe from the next one's free-port
    // picks once its nodes have bound them.
    for (const system of systems) {
      subjects.push(await startSubject(system, options, value, clusters));
    }
    if (options.failover) {
      await runFailovers(subjects, options.failoverRuns);
    } else {
      await runLoads(options, subjects, httpClient);
    }
    log(`done; ${loadText()}`);
    return 0;
  } catch (err) {
    log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    for (const cluster of clusters) {
      console.error(`recent ${cluster.system} output:\n${cluster.dump()}`);
    }
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    httpClient.close();
    await Promise.all(clusters.map((cluster) => cluster.close()));
  }
}

/** Starts the local cluster (unless --endpoints) and waits for its stable leader. */
async function startSubject(
  system: System,
  options: BenchOptions,
  value: Uint8Array,
  clusters: BenchCluster[],
): Promise<Subject> {
  let cluster: BenchCluster | null = null;
  if (options.endpoints === null) {
    cluster = system === "raftkv"
      ? await LocalCluster.start(3, options)
      : await LocalEtcdCluster.start(3, options);
    clusters.push(cluster);
    const { tickMs, electionTicks } = cluster.timing;
    log(
      `started 3 ${system} nodes in ${cluster.dir} (tickMs ${tickMs}, ` +
        `electionTicks ${electionTicks}): ${cluster.endpoints.join(" ")}`,
    );
  }
  const dialect = dialectOf(system, value);
  const endpoints = cluster?.endpoints ?? options.endpoints ?? [];
  const subject = { dialect, endpoints, cluster, requireAll: cluster !== null };
  const leader = await stableLeader(subject);
  log(`${system} leader ${leader.id} (term ${leader.term}); ${loadText()}`);
  return subject;
}

/** The leader all of the subject's nodes agree on, once it has held for SETTLE_MS. */
function stableLeader({ dialect, endpoints, requireAll }: Subject) {
  return waitForStableLeader(
    dialect.agreedLeader,
    endpoints,
    LEADER_WAIT_MS,
    SETTLE_MS,
    requireAll,
  );
}

async function runFailovers(subjects: Subject[], runs: number): Promise<void> {
  const local = subjects.map(({ cluster, dialect }) => {
    if (cluster === null) throw new Error("--failover needs the local cluster");
    return { cluster, dialect, results: [] as FailoverRun[] };
  });
  for (let run = 1; run <= runs; run++) {
    for (const { cluster, dialect, results } of local) {
      results.push(await failoverOnce(cluster, dialect, run, log));
      // The restarted node must be back before anything else is timed on this box.
      await settle(cluster, dialect);
    }
  }
  const reports = local.map(({ cluster, results }) => failoverReport(cluster, results));
  for (const report of reports) console.log(JSON.stringify(report));
  if (reports.length === 2) console.log(JSON.stringify(failoverRatio(reports[0], reports[1])));
}

async function runLoads(
  options: BenchOptions,
  subjects: Subject[],
  httpClient: Deno.HttpClient,
): Promise<void> {
  const allPids = () =>
    new Map(subjects.flatMap((subject) => [...(subject.cluster?.pids() ?? new Map())]));
  let populated = false;
  for (const workload of options.workloads) {
    if (workload !== "put" && !populated) {
      for (const subject of subjects) await populate(subject, options.keys, httpClient);
      populated = true;
    }
    for (const clients of options.clients) {
      // Per subject, its rounds. The systems take turns within a round and the first one
      // alternates, so a drifting machine weighs on both alike.
      const results: LoadResult[][] = subjects.map(() => []);
      for (let round = 1; round <= options.rounds; round++) {
        const order = subjects.map((_, i) => i);
        if (round % 2 === 0) order.reverse();
        for (const i of order) {
          const result = await measure(
            subjects[i],
            workload,
            clients,
            options,
            httpClient,
            allPids(),
          );
          console.log(JSON.stringify(options.rounds > 1 ? { ...result, round } : result));
          results[i].push(result);
        }
      }
      if (options.rounds > 1) {
        for (const rounds of results) log(describeMedians(rounds));
      }
      if (results.length === 2) {
        const [raftkv, etcd] = results.map(medianOf);
        console.log(JSON.stringify(loadRatio(raftkv, etcd, options.rounds)));
      }
    }
  }
}

/** One measurement of one configuration on one system. */
async function measure(
  subject: Subject,
  workload: Workload,
  clients: number,
  options: BenchOptions,
  httpClient: Deno.HttpClient,
  pids: Map<string, number>,
): Promise<LoadResult> {
  const { dialect, endpoints } = subject;
  const leader = await stableLeader(subject);
  const via = options.via === "all" ? endpoints : [leader.client];
  const targets = buildTargets(dialect, via, options.keys);
  const cpu = new CpuWindow(pids);
  const result = await runLoad({
    workload,
    clients,
    targets,
    warmupMs: options.warmupSeconds * 1000,
    measureMs: options.seconds * 1000,
    httpClient,
  }, (edge) => edge === "start" ? cpu.start() : cpu.end());
  log(describe(workload, clients, via.length, result, cpu));
  return result;
}

function describeMedians(rounds: LoadResult[]): string {
  const m = medianOf(rounds);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return `${rounds[0].system} ${m.workload} x${m.clients}, median of ${rounds.length} rounds: ` +
    `${r(m.opsPerSec)} ops/s, p50 ${r(m.p50Ms)} ms, p99 ${r(m.p99Ms)} ms`;
}

async function populate(subject: Subject, keys: number, httpClient: Deno.HttpClient) {
  const startMs = performance.now();
  await prepopulate(buildTargets(subject.dialect, subject.endpoints, keys), httpClient);
  const ms = Math.round(performance.now() - startMs);
  log(`${subject.dialect.system}: wrote ${keys} keys in ${ms} ms`);
}

function describe(
  workload: Workload,
  clients: number,
  endpointCount: number,
  result: LoadResult,
  cpu: CpuWindow,
): string {
  return `${result.system} ${workload} x${clients} over ${endpointCount} endpoint(s): ` +
    `${result.opsPerSec} ops/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
    `${result.errors} errors; cpu % of one core: ${cpu.text()}; ${loadText()}`;
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

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
