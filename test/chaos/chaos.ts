// One chaos run, end to end: start a cluster behind fault proxies, run the workload and the
// nemesis for a while, heal everything, wait for the replicas to converge, then judge:
//
//   - every replica holds the same state (applied index, and every key's value and revision);
//   - the history (with one final linearizable read per key) is linearizable;
//   - no acknowledged write is lost (analysis.ts, lostWrites);
//   - no anomaly that needs no search (revisions against real time, phantom values);
//   - an isolated leader served no linearizable read and acknowledged no write;
//   - no node exited by itself, and no request got an undocumented status.
//
// On a violation the history, the fault log and every node's output are written to a
// directory whose path is printed with the seed.

import { join } from "node:path";
import { waitFor } from "../cluster/harness.ts";
import { Rng } from "../rng.ts";
import { type FinalState, lostWrites, toCheckOps } from "./analysis.ts";
import { ChaosCluster } from "./chaos_cluster.ts";
import { completedOps, History } from "./history.ts";
import { checkPartitioned, type PartitionResult } from "./lincheck.ts";
import { type FaultRecord, Nemesis } from "./nemesis.ts";
import { keyName, perform, Workload } from "./workload.ts";
import type { Tuning } from "../cluster/harness.ts";

export interface ChaosOptions {
  seed: number;
  seconds: number;
  nodes: number;
  clients?: number;
  keys?: number;
  /** Per-client pause between operations, uniform in [0, thinkMs). */
  thinkMs?: number;
  opTimeoutMs?: number;
  tuning?: Tuning;
  /** Where failure artifacts go (a new temp dir by default). */
  outDir?: string;
  /** Workload reads skip ReadIndex (see WorkloadOptions): a self-test that must fail. */
  serializableReads?: boolean;
  /** Write the artifacts even when the run passes. */
  keepArtifacts?: boolean;
  log?: (line: string) => void;
}

export interface ChaosSummary {
  seed: number;
  nodes: number;
  seconds: number;
  verdict: "ok" | "violation" | "unknown";
  ops: number;
  outcomes: Record<string, number>;
  indeterminate: number;
  faults: Record<string, number>;
  proxy: { unitsDropped: number; refused: number; closedByCut: number; accepted: number };
  /** Snapshots installed from a leader (InstallSnapshot through the proxies), all nodes. */
  snapshotsInstalled: number;
  /** How many violations; `violations` lists the first VIOLATIONS_SHOWN (all are in the file). */
  violationCount: number;
  violations: string[];
  lostAcknowledgedWrites: number;
  converged: boolean;
  timingsMs: { cluster: number; workload: number; converge: number; check: number };
  artifacts: string | null;
}

const CONVERGE_TIMEOUT_MS = 60_000;
const VIOLATIONS_SHOWN = 20;

export async function runChaos(o: ChaosOptions): Promise<ChaosSummary> {
  const rng = new Rng(o.seed);
  const keys = o.keys ?? 10;
  const opTimeoutMs = o.opTimeoutMs ?? 4000;
  const log = o.log ?? (() => {});
  const history = new History();
  const t0 = performance.now();
  const chaos = await ChaosCluster.start({
    nodes: o.nodes,
    random: rng.fork().next,
    tuning: o.tuning,
  });
  let snapshotsInstalled = 0;
  chaos.cluster.onLine = (_id, line) => {
    if (line.includes("installed the leader's snapshot")) snapshotsInstalled++;
  };
  const violations: string[] = [];
  let faults: FaultRecord[] = [];
  let finals = new Map<string, FinalState>();
  let converged = false;
  let dump = "";
  const timingsMs = { cluster: 0, workload: 0, converge: 0, check: 0 };
  try {
    await chaos.cluster.waitForLeader(30_000);
    timingsMs.cluster = performance.now() - t0;
    log(`cluster of ${o.nodes} up in ${timingsMs.cluster.toFixed(0)} ms (${chaos.cluster.dir})`);

    const t1 = performance.now();
    const endpoint = (id: string) => chaos.endpoint(id);
    const http = chaos.http;
    const workload = new Workload({
      clients: o.clients ?? 8,
      keys,
      rng: rng.fork(),
      history,
      nodes: chaos.ids,
      endpoint,
      http,
      opTimeoutMs,
      thinkMs: o.thinkMs ?? 40,
      serializableReads: o.serializableReads,
    });
    const nemesis = new Nemesis({
      rng: rng.fork(),
      cluster: chaos,
      history,
      keys,
      opTimeoutMs,
      log,
    });
    workload.start();
    nemesis.start();
    await new Promise((resolve) => setTimeout(resolve, o.seconds * 1000));
    await nemesis.stop();
    chaos.healAll();
    await workload.stop();
    faults = nemesis.faults;
    violations.push(...nemesis.isolationViolations);
    timingsMs.workload = performance.now() - t1;

    const t2 = performance.now();
    try {
      finals = await converge(chaos, keys);
      converged = true;
      // One linearizable read per key, after everything: the history's last word.
      for (let k = 0; k < keys; k++) {
        const request = {
          kind: "get" as const,
          node: rng.pick(chaos.ids),
          key: keyName(k),
          value: null,
          expectRevision: null,
        };
        await perform({ history, endpoint, http, opTimeoutMs }, "final", request);
      }
    } catch (err) {
      violations.push(`no convergence after healing: ${err instanceof Error ? err.message : err}`);
    }
    timingsMs.converge = performance.now() - t2;
    violations.push(...chaos.cluster.crashes.map((c) => `crash: ${c}`));
    violations.push(...chaos.cluster.contractViolations.map((c) => `contract: ${c}`));
  } finally {
    dump = chaos.cluster.dump();
    await chaos.close();
  }

  const t3 = performance.now();
  history.closePending("never answered");
  const ops = completedOps(history.ops);
  const { partitions, anomalies } = toCheckOps(ops);
  violations.push(...anomalies.map((a) => `anomaly: ${a}`));
  for (const op of ops) {
    const o = op.outcome;
    if (o.type === "unknown" && /^\d/.test(o.reason) && !o.reason.startsWith("504")) {
      violations.push(`op ${op.id}: undocumented answer ${o.reason}`);
    }
  }
  const results = checkPartitioned(partitions, { deadlineMs: performance.now() + 120_000 });
  violations.push(...describeResults(results));
  const lost = converged ? lostWrites(ops, finals) : [];
  violations.push(...lost.map((l) => `lost: ${l}`));
  timingsMs.check = performance.now() - t3;

  const unknown = results.some((r) => r.result.type === "unknown");
  const verdict = violations.length > 0 ? "violation" : unknown ? "unknown" : "ok";
  const outcomes = history.counts();
  const summary: ChaosSummary = {
    seed: o.seed,
    nodes: o.nodes,
    seconds: o.seconds,
    verdict,
    ops: ops.length,
    outcomes,
    indeterminate: outcomes.unknown,
    faults: countBy(faults.map((f) => f.type)),
    proxy: chaos.network.stats(),
    snapshotsInstalled,
    violationCount: violations.length,
    violations: violations.slice(0, VIOLATIONS_SHOWN),
    lostAcknowledgedWrites: lost.length,
    converged,
    timingsMs: roundAll(timingsMs),
    artifacts: null,
  };
  if (verdict !== "ok" || o.keepArtifacts) {
    summary.artifacts = await writeArtifacts(
      o,
      { ...summary, violations },
      history,
      faults,
      results,
      dump,
    );
  }
  return summary;
}

/**
 * Waits until every node names the same leader, has applied everything committed, and all
 * agree on the indexes; then reads every key on every node without a ReadIndex
 * (serializable: each replica's own state) and requires identical answers.
 */
async function converge(chaos: ChaosCluster, keys: number): Promise<Map<string, FinalState>> {
  await waitFor("every replica to apply the same log", CONVERGE_TIMEOUT_MS, async () => {
    const statuses = await chaos.statuses(2000);
    if (statuses.size !== chaos.ids.length) return null;
    const all = [...statuses.values()];
    const first = all[0];
    const same = all.every((s) =>
      s.leader !== null && s.leader.id === first.leader?.id && s.term === first.term &&
      s.commitIndex === first.commitIndex && s.appliedIndex === s.commitIndex &&
      s.lastLogIndex === first.lastLogIndex
    );
    return same ? true : null;
  });
  const finals = new Map<string, FinalState>();
  for (let k = 0; k < keys; k++) {
    const key = keyName(k);
    const answers = await Promise.all(chaos.ids.map(async (id) => {
      const r = await chaos.cluster.client(id).get(key, { query: { consistency: "serializable" } });
      if (r.status === 404) return null;
      if (r.status !== 200) {
        throw new Error(`serializable GET ${key} on ${id}: ${r.status} ${r.text}`);
      }
      return { value: r.text, revision: Number((r.headers.get("etag") ?? "").replaceAll('"', "")) };
    }));
    const shown = answers.map((a, i) => `${chaos.ids[i]}=${JSON.stringify(a)}`).join(" ");
    if (answers.some((a) => JSON.stringify(a) !== JSON.stringify(answers[0]))) {
      throw new Error(`replicas disagree on ${key}: ${shown}`);
    }
    finals.set(key, answers[0]);
  }
  return finals;
}

function describeResults(results: readonly PartitionResult[]): string[] {
  const out: string[] = [];
  for (const { key, ops, result } of results) {
    switch (result.type) {
      case "linearizable":
        break;
      case "violation":
        out.push(
          `not linearizable: key ${key} (${ops} ops): the longest linearization has ${result.longest.length} ops and cannot get past op ${result.stuckAt}`,
        );
        break;
      case "unknown":
        out.push(`undecided: key ${key} (${ops} ops): ${result.reason}`);
        break;
    }
  }
  return out;
}

async function writeArtifacts(
  o: ChaosOptions,
  summary: ChaosSummary,
  history: History,
  faults: FaultRecord[],
  results: readonly PartitionResult[],
  dump: string,
): Promise<string> {
  const dir = o.outDir ?? await Deno.makeTempDir({ prefix: `raftkv_chaos_seed${o.seed}_` });
  await Deno.mkdir(dir, { recursive: true });
  const replay = `deno task chaos --seconds ${o.seconds} --seed ${o.seed} --nodes ${o.nodes}`;
  await Deno.writeTextFile(
    join(dir, "history.json"),
    JSON.stringify({ replay, summary, faults, results, ops: history.ops }, null, 1),
  );
  await Deno.writeTextFile(join(dir, "nodes.log"), dump);
  return dir;
}

function countBy(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[item] = (out[item] ?? 0) + 1;
  return out;
}

function roundAll<T extends Record<string, number>>(values: T): T {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v)])) as T;
}
