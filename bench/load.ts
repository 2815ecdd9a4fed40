// Closed-loop load (API.md §7): C clients, each with one request in flight at a time,
// for a warmup (not recorded) and then a measured window. Each request is spelled by the
// target system's dialect (systems.ts): a URL string, a small init object and, for etcd, a
// short JSON body per request — a few hundred ns against the ~0.1 ms that fetch itself
// costs — and latencies go into a fixed-size histogram.

import type { Workload } from "./args.ts";
import { Histogram } from "./histogram.ts";
import { delay } from "./status.ts";
import type { Dialect, Op, System } from "./systems.ts";

/** Share of puts in the mix workload (the rest are linearizable gets). */
export const MIX_PUT_SHARE = 0.1;
/** A client that got an error waits this long, so a dead node is not spun on. */
const ERROR_BACKOFF_MS = 10;
/** After the window closes, in-flight requests get this long before they are aborted. */
const DRAIN_GRACE_MS = 10_000;
/** Pre-population: concurrent writers and attempts per key. */
const FILL_WRITERS = 64;
const FILL_ATTEMPTS_MAX = 50;

/** Where the load goes: endpoints, key names, and the system's dialect. */
export interface Targets {
  dialect: Dialect;
  endpoints: readonly string[];
  keyNames: readonly string[];
}

export function keyName(index: number): string {
  return `bench-${index}`;
}

export function buildTargets(
  dialect: Dialect,
  endpoints: readonly string[],
  keys: number,
): Targets {
  return { dialect, endpoints, keyNames: Array.from({ length: keys }, (_, i) => keyName(i)) };
}

/** A printable value of `bytes` bytes (ASCII, so it also reads well in curl and txn JSON). */
export function makeValue(bytes: number): Uint8Array<ArrayBuffer> {
  const value = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) value[i] = 97 + (i % 26);
  return value;
}

export interface ErrorCounts {
  "3xx": number;
  "4xx": number;
  "5xx": number;
  /** Refused, reset or aborted connections: no status at all. */
  network: number;
}

export function emptyErrorCounts(): ErrorCounts {
  return { "3xx": 0, "4xx": 0, "5xx": 0, network: 0 };
}

/** Counts a failed request by status class; status 0 stands for "no response". */
export function countError(errors: ErrorCounts, status: number): void {
  if (status >= 500) errors["5xx"]++;
  else if (status >= 400) errors["4xx"]++;
  else if (status >= 300) errors["3xx"]++;
  else errors.network++;
}

export interface LoadSpec {
  workload: Workload;
  clients: number;
  targets: Targets;
  warmupMs: number;
  measureMs: number;
  httpClient: Deno.HttpClient;
}

export interface LoadResult {
  system: System;
  workload: Workload;
  clients: number;
  /** Successful operations completed inside the measured window. */
  ops: number;
  opsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Failed requests inside the window (any non-2xx status or no response). */
  errors: number;
  errorsByClass: ErrorCounts;
  /** The measured window's actual length. */
  seconds: number;
}

/** Mutable state shared by one configuration's clients. */
class Run {
  recording = false;
  stopped = false;
  readonly histogram = new Histogram();
  readonly errors = emptyErrorCounts();
  readonly abort = new AbortController();
  readonly putShare: number;

  constructor(readonly spec: LoadSpec) {
    this.putShare = spec.workload === "put" ? 1 : spec.workload === "get" ? 0 : MIX_PUT_SHARE;
  }
}

/** Sends one request and reads its whole body; the status, or 0 for no response. */
export async function send(
  op: Op,
  httpClient: Deno.HttpClient,
  signal?: AbortSignal,
): Promise<number> {
  try {
    const response = await fetch(op.url, {
      method: op.method,
      body: op.body,
      signal,
      client: httpClient,
    });
    await response.arrayBuffer(); // drained, so the connection goes back to the pool
    return response.status;
  } catch {
    return 0;
  }
}

/** One client: a request, its whole response body, the next request. */
async function clientLoop(run: Run, clientIndex: number): Promise<void> {
  const { dialect, endpoints, keyNames } = run.spec.targets;
  const { signal } = run.abort;
  const endpointCount = endpoints.length;
  const keys = keyNames.length;
  // Round-robin over the endpoints, each client starting at a different one.
  let endpoint = clientIndex % endpointCount;
  while (!run.stopped) {
    const key = keyNames[Math.floor(Math.random() * keys)];
    const op = Math.random() < run.putShare
      ? dialect.put(endpoints[endpoint], key)
      : dialect.get(endpoints[endpoint], key);
    endpoint = endpoint + 1 === endpointCount ? 0 : endpoint + 1;
    const startedMs = performance.now();
    const status = await send(op, run.spec.httpClient, signal);
    const latencyMs = performance.now() - startedMs;
    if (!run.recording || run.stopped) continue;
    if (status >= 200 && status < 300) {
      run.histogram.recordMs(latencyMs);
    } else {
      countError(run.errors, status);
      await delay(ERROR_BACKOFF_MS);
    }
  }
}

/** Runs one configuration: warmup, measured window, drain. */
export async function runLoad(
  spec: LoadSpec,
  onWindow: (edge: "start" | "end") => void = () => {},
): Promise<LoadResult> {
  const run = new Run(spec);
  const loops = Array.from({ length: spec.clients }, (_, i) => clientLoop(run, i));
  await delay(spec.warmupMs);
  run.recording = true;
  onWindow("start");
  const startMs = performance.now();
  await delay(spec.measureMs);
  run.stopped = true;
  const seconds = (performance.now() - startMs) / 1000;
  onWindow("end");
  const grace = setTimeout(() => run.abort.abort(), DRAIN_GRACE_MS);
  await Promise.all(loops);
  clearTimeout(grace);
  return summarize(spec, run, seconds);
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function summarize(spec: LoadSpec, run: Run, seconds: number): LoadResult {
  const h = run.histogram;
  const e = run.errors;
  return {
    system: spec.targets.dialect.system,
    workload: spec.workload,
    clients: spec.clients,
    ops: h.count,
    opsPerSec: round(h.count / seconds, 1),
    p50Ms: round(h.quantileMs(0.5), 3),
    p90Ms: round(h.quantileMs(0.9), 3),
    p99Ms: round(h.quantileMs(0.99), 3),
    maxMs: round(h.maxMs(), 3),
    errors: e["3xx"] + e["4xx"] + e["5xx"] + e.network,
    errorsByClass: { ...e },
    seconds: round(seconds, 3),
  };
}

/**
 * Writes every key once (so gets find them), spreading writers over the endpoints.
 * Each key is retried on failure; throws if one still fails after FILL_ATTEMPTS_MAX.
 */
export async function prepopulate(targets: Targets, httpClient: Deno.HttpClient): Promise<void> {
  const { dialect, endpoints, keyNames } = targets;
  let next = 0;
  let failed = false;
  const writer = async (writerIndex: number) => {
    for (let key = next++; key < keyNames.length && !failed; key = next++) {
      for (let attempt = 0;; attempt++) {
        const endpoint = endpoints[(writerIndex + key + attempt) % endpoints.length];
        const status = await send(dialect.put(endpoint, keyNames[key]), httpClient);
        if (status === 200) break;
        if (attempt + 1 >= FILL_ATTEMPTS_MAX) {
          failed = true; // the other writers stop at their next key
          throw new Error(
            `pre-populating ${keyNames[key]}: last status ${status || "no response"}`,
          );
        }
        await delay(50);
      }
    }
  };
  await Promise.all(Array.from({ length: FILL_WRITERS }, (_, i) => writer(i)));
}
