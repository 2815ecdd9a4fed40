// Failover timing: kill -9 the leader and measure how long until a write issued after the
// kill is acknowledged. The client retries every 10 ms against the surviving nodes, round
// robin — without waiting for an attempt that hangs (a follower may hold a write it
// forwarded to the dead leader until the node's request timeout), so a hung attempt
// cannot hide the moment the cluster takes writes again. Between runs the killed node is
// restarted on its data dir and the cluster must settle on one stable leader. The same
// procedure serves raftkv and etcd (the dialect spells the put and finds the leader), so
// `--compare` can interleave the two systems' runs.

import { median } from "./histogram.ts";
import { delay, type Leader, waitForStableLeader } from "./status.ts";
import type { BenchCluster, Dialect, System } from "./systems.ts";

export const RETRY_EVERY_MS = 10;
/** One attempt's own deadline; a slower answer counts as "timeout". */
const ATTEMPT_TIMEOUT_MS = 10_000;
/** Attempts in flight at once, at most (a limit on everything). */
const INFLIGHT_MAX = 512;
/** A run that has not written by then is reported as failed (recoveryMs null). */
const RUN_DEADLINE_MS = 60_000;
const LEADER_WAIT_MS = 60_000;
/** How long every node must agree on the same leader and term before a run starts. */
const STABLE_MS = 1000;

export interface FailoverRun {
  run: number;
  /** The leader that was killed, and its term. */
  killed: string;
  term: number;
  /** Kill → first acknowledged write, in ms; null if none within RUN_DEADLINE_MS. */
  recoveryMs: number | null;
  /** When the attempt that succeeded first was issued, ms after the kill. */
  okIssuedMs: number | null;
  /** Which surviving node acknowledged it. */
  okVia: string | null;
  /** The leader the survivors agree on afterwards (null if they did not yet). */
  newLeader: string | null;
  newTerm: number | null;
  attempts: number;
  /** Failed attempts by outcome: an HTTP status, "network" or "timeout". */
  failures: Record<string, number>;
}

export interface FailoverReport {
  system: System;
  workload: "failover";
  runs: FailoverRun[];
  /** Median of the runs' recoveryMs (failed runs left out); null if every run failed. */
  medianMs: number | null;
  tickMs: number;
  electionTicks: number;
}

interface Outcome {
  firstOk: { atMs: number; issuedMs: number; via: string } | null;
  attempts: number;
  failures: Record<string, number>;
}

/** One run: kill -9 the (stable) leader, time the first acknowledged write, restart it. */
export async function failoverOnce(
  cluster: BenchCluster,
  dialect: Dialect,
  run: number,
  log: (line: string) => void,
): Promise<FailoverRun> {
  const probe = dialect.agreedLeader;
  const leader = await waitForStableLeader(probe, cluster.endpoints, LEADER_WAIT_MS, STABLE_MS);
  const killedId = nodeIdOf(cluster, leader);
  const survivors = cluster.nodes.filter((node) => node.id !== killedId);
  log(`${dialect.system} failover run ${run}: killing leader ${killedId} (term ${leader.term})`);
  const killed = cluster.killNode(killedId); // the signal goes out synchronously
  const outcome = await retryWrites(dialect, survivors, `bench-failover-${run}`);
  await killed;
  const after = await probe(survivors.map((node) => node.client), true);
  const result: FailoverRun = {
    run,
    killed: killedId,
    term: leader.term,
    recoveryMs: outcome.firstOk === null ? null : round1(outcome.firstOk.atMs),
    okIssuedMs: outcome.firstOk === null ? null : round1(outcome.firstOk.issuedMs),
    okVia: outcome.firstOk?.via ?? null,
    newLeader: after === null ? null : nodeIdOf(cluster, after),
    newTerm: after?.term ?? null,
    attempts: outcome.attempts,
    failures: outcome.failures,
  };
  log(`${dialect.system} failover run ${run}: ${JSON.stringify(result)}`);
  cluster.startNode(killedId);
  return result;
}

/** Waits until the restarted node is back and the cluster agrees on a stable leader. */
export async function settle(cluster: BenchCluster, dialect: Dialect): Promise<void> {
  await waitForStableLeader(dialect.agreedLeader, cluster.endpoints, LEADER_WAIT_MS, STABLE_MS);
}

export function failoverReport(cluster: BenchCluster, runs: FailoverRun[]): FailoverReport {
  const recovered = runs.flatMap((r) => r.recoveryMs === null ? [] : [r.recoveryMs]);
  return {
    system: cluster.system,
    workload: "failover",
    runs,
    medianMs: recovered.length === 0 ? null : round1(median(recovered)),
    ...cluster.timing,
  };
}

/** The bench's name for the node a leader report points at (etcd reports member ids). */
function nodeIdOf(cluster: BenchCluster, leader: Leader): string {
  const node = cluster.nodes.find((n) => n.client === leader.client || n.id === leader.id);
  if (node === undefined) throw new Error(`leader ${leader.id} is not one of the bench's nodes`);
  return node.id;
}

/** Issues a PUT every RETRY_EVERY_MS until one succeeds; times are ms after the call. */
async function retryWrites(
  dialect: Dialect,
  survivors: readonly { id: string; client: string }[],
  key: string,
): Promise<Outcome> {
  const startMs = performance.now();
  const stop = new AbortController();
  const outcome: Outcome = { firstOk: null, attempts: 0, failures: {} };
  const pending = new Set<Promise<void>>();
  const attempt = async (via: { id: string; client: string }) => {
    const issuedMs = performance.now() - startMs;
    const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]);
    let failure: string;
    try {
      const op = dialect.put(via.client, key);
      const response = await fetch(op.url, { method: op.method, body: op.body, signal });
      await response.arrayBuffer();
      if (response.status === 200) {
        if (outcome.firstOk === null) {
          outcome.firstOk = { atMs: performance.now() - startMs, issuedMs, via: via.id };
        }
        return;
      }
      failure = String(response.status);
    } catch {
      if (stop.signal.aborted) return; // ended by us once another attempt got through
      failure = signal.aborted ? "timeout" : "network";
    }
    outcome.failures[failure] = (outcome.failures[failure] ?? 0) + 1;
  };
  for (let i = 0; outcome.firstOk === null; i++) {
    if (performance.now() - startMs > RUN_DEADLINE_MS) break;
    if (pending.size < INFLIGHT_MAX) {
      outcome.attempts++;
      const p: Promise<void> = attempt(survivors[i % survivors.length]).finally(() =>
        pending.delete(p)
      );
      pending.add(p);
    }
    await delay(RETRY_EVERY_MS);
  }
  stop.abort();
  await Promise.all(pending);
  return outcome;
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
