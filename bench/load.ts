// Closed-loop load (API.md §7): C clients, each with one request in flight at a time,
// for a warmup (not recorded) and then a measured window. The hot loop allocates only
// what fetch itself does: URLs are built once per endpoint and key, the value buffer and
// the RequestInit objects are shared, and latencies go into a fixed-size histogram.

import type { Workload } from "./args.ts";
import { Histogram } from "./histogram.ts";
import { delay } from "./status.ts";

/** Share of puts in the mix workload (the rest are linearizable gets). */
export const MIX_PUT_SHARE = 0.1;
/** A client that got an error waits this long, so a dead node is not spun on. */
const ERROR_BACKOFF_MS = 10;
/** After the window closes, in-flight requests get this long before they are aborted. */
const DRAIN_GRACE_MS = 10_000;
/** Pre-population: concurrent writers and attempts per key. */
const FILL_WRITERS = 64;
const FILL_ATTEMPTS_MAX = 50;

/** Prebuilt `${endpoint}/v1/kv/${key}` strings, indexed [endpoint][key]. */
export interface Targets {
  endpoints: readonly string[];
  urls: readonly (readonly string[])[];
}

export function keyName(index: number): string {
  return `bench-${index}`;
}

export function buildTargets(endpoints: readonly string[], keys: number): Targets {
  const urls = endpoints.map((endpoint) =>
    Array.from({ length: keys }, (_, i) => `${endpoint}/v1/kv/${keyName(i)}`)
  );
  return { endpoints, urls };
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
  value: Uint8Array<ArrayBuffer>;
  warmupMs: number;
  measureMs: number;
  httpClient: Deno.HttpClient;
}

export interface LoadResult {
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
  readonly putInit: RequestInit & { client: Deno.HttpClient };
  readonly getInit: RequestInit & { client: Deno.HttpClient };
  readonly putShare: number;

  constructor(readonly spec: LoadSpec) {
    const { signal } = this.abort;
    const client = spec.httpClient;
    this.putInit = { method: "PUT", body: spec.value, signal, client };
    this.getInit = { method: "GET", signal, client };
    this.putShare = spec.workload === "put" ? 1 : spec.workload === "get" ? 0 : MIX_PUT_SHARE;
  }
}

/** One client: a request, its whole response body, the next request. */
async function clientLoop(run: Run, clientIndex: number): Promise<void> {
  const { urls } = run.spec.targets;
  const endpointCount = urls.length;
  const keys = urls[0].length;
  // Round-robin over the endpoints, each client starting at a different one.
  let endpoint = clientIndex % endpointCount;
  while (!run.stopped) {
    const url = urls[endpoint][Math.floor(Math.random() * keys)];
    const init = Math.random() < run.putShare ? run.putInit : run.getInit;
    endpoint = endpoint + 1 === endpointCount ? 0 : endpoint + 1;
    const startedMs = performance.now();
    let status = 0;
    try {
      const response = await fetch(url, init);
      status = response.status;
      await response.arrayBuffer(); // drained, so the connection goes back to the pool
    } catch {
      status = 0;
    }
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
export async function prepopulate(
  targets: Targets,
  value: Uint8Array<ArrayBuffer>,
  httpClient: Deno.HttpClient,
): Promise<void> {
  const keys = targets.urls[0].length;
  const init = { method: "PUT", body: value, client: httpClient };
  let next = 0;
  let failed = false;
  const writer = async (writerIndex: number) => {
    for (let key = next++; key < keys && !failed; key = next++) {
      const urls = targets.urls;
      for (let attempt = 0;; attempt++) {
        const url = urls[(writerIndex + key + attempt) % urls.length][key];
        let status = 0;
        try {
          const response = await fetch(url, init);
          status = response.status;
          await response.arrayBuffer();
        } catch {
          status = 0;
        }
        if (status === 200) break;
        if (attempt + 1 >= FILL_ATTEMPTS_MAX) {
          failed = true; // the other writers stop at their next key
          throw new Error(`pre-populating ${keyName(key)}: last status ${status || "no response"}`);
        }
        await delay(50);
      }
    }
  };
  await Promise.all(Array.from({ length: FILL_WRITERS }, (_, i) => writer(i)));
}
