// `deno task bench` flags → typed options. Pure: no I/O, so it is unit-tested.

import { parseArgs } from "node:util";
import { type System, SYSTEMS } from "./systems.ts";

/** etcd refuses an election timeout under 5 heartbeats. */
export const ETCD_ELECTION_TICKS_MIN = 5;

export const WORKLOADS = ["put", "get", "mix"] as const;
export type Workload = typeof WORKLOADS[number];
export const VIAS = ["all", "leader"] as const;
export type Via = typeof VIAS[number];

export interface BenchOptions {
  /** Client URLs of an existing cluster, or null to start a local 3-node one. */
  endpoints: string[] | null;
  clients: number[];
  workloads: Workload[];
  /** The system measured (ignored with `compare`, which measures both). */
  target: System;
  /** Raftkv and etcd, each on a local cluster, configuration by configuration. */
  compare: boolean;
  /** Which endpoints get the requests: all of them round-robin, or the leader only. */
  via: Via;
  warmupSeconds: number;
  seconds: number;
  keys: number;
  valueBytes: number;
  /** Measurements per configuration and system; ratio lines compare their medians. */
  rounds: number;
  failover: boolean;
  failoverRuns: number;
  /** nodes.json tuning for the local cluster; null keeps the file's defaults. */
  tickMs: number | null;
  electionTicks: number | null;
}

export type BenchArgsResult =
  | { type: "ok"; options: BenchOptions }
  | { type: "help"; text: string }
  | { type: "error"; message: string };

/** A limit on everything: one run must stay something a shared 2-core box survives. */
export const CLIENTS_MAX = 4096;
export const SECONDS_MAX = 3600;
export const KEYS_MAX = 1_000_000;
export const VALUE_BYTES_MAX = 1024 * 1024;
export const FAILOVER_RUNS_MAX = 100;
export const ROUNDS_MAX = 50;

export const BENCH_USAGE = `usage: deno task bench [flags]
  --endpoints URL,URL,...   target an existing cluster (default: start a local 3-node one)
  --clients 1,16,64,256     concurrent closed-loop clients per configuration
  --workloads put,get,mix   put-only, get-only (linearizable), 90/10 get/put
  --target raftkv|etcd      the system to drive (etcd: its v3 JSON gateway; locally started
                            members need Debian's etcd-server, etcd 3.4)
  --compare                 start both locally and run each configuration (or failover
                            run) on raftkv, then etcd; ratio lines follow each pair
  --via all|leader          spread requests over every endpoint (default) or the leader only
  --warmup 1                seconds of unrecorded load before each measurement
  --seconds 10              measured seconds per configuration
  --keys 10000              key space (pre-populated before get and mix run)
  --value-bytes 100         value size
  --rounds 1                measure each configuration this many times (with --compare the
                            systems take turns, the first alternating); ratio lines compare
                            the medians, which a noisy shared machine needs
  --failover                instead of load: kill -9 the leader, time the first good write
  --failover-runs 5         failover repetitions (the killed node is restarted in between)
  --tick-ms N               local cluster only: nodes.json tickMs (etcd: heartbeat-interval)
  --election-ticks N        local cluster only: nodes.json electionTicks (etcd: election-timeout
                            = N × tick; either flag sets both systems' timing alike, etcd keeps
                            its defaults of 100 ms / 1000 ms when neither is given)
  -h, --help`;

/** A bad flag; caught in parseBenchArgs and turned into an error result. */
class FlagError extends Error {}

function intFlag(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new FlagError(`--${name}: expected an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function secondsFlag(name: string, text: string, min: number): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > SECONDS_MAX) {
    throw new FlagError(`--${name}: expected seconds from ${min} to ${SECONDS_MAX}, got "${text}"`);
  }
  return value;
}

function optionalInt(name: string, text: string | undefined, min: number, max: number) {
  return text === undefined ? null : intFlag(name, text, min, max);
}

function listOf(name: string, text: string): string[] {
  const items = text.split(",").map((item) => item.trim()).filter((item) => item !== "");
  if (items.length === 0) throw new FlagError(`--${name}: expected a comma-separated list`);
  return items;
}

function parseEndpoints(text: string): string[] {
  return listOf("endpoints", text).map((item) => {
    const url = item.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/?#\s]+$/.test(url)) {
      throw new FlagError(`--endpoints: expected http://host:port URLs, got "${item}"`);
    }
    return url;
  });
}

function parseWorkload(item: string): Workload {
  const workload = WORKLOADS.find((w) => w === item);
  if (workload === undefined) {
    throw new FlagError(`--workloads: unknown "${item}" (expected ${WORKLOADS.join(", ")})`);
  }
  return workload;
}

function parseTarget(text: string): System {
  const system = SYSTEMS.find((t) => t === text);
  if (system !== undefined) return system;
  const hint = VIAS.some((v) => v === text) ? ` (endpoint choice is now --via ${text})` : "";
  throw new FlagError(`--target: expected raftkv or etcd, got "${text}"${hint}`);
}

function parseVia(text: string): Via {
  const via = VIAS.find((v) => v === text);
  if (via === undefined) throw new FlagError(`--via: expected all or leader, got "${text}"`);
  return via;
}

const FLAGS = {
  endpoints: { type: "string" },
  clients: { type: "string", default: "1,16,64,256" },
  workloads: { type: "string", default: "put,get,mix" },
  target: { type: "string", default: "raftkv" },
  compare: { type: "boolean", default: false },
  via: { type: "string", default: "all" },
  warmup: { type: "string", default: "1" },
  seconds: { type: "string", default: "10" },
  keys: { type: "string", default: "10000" },
  "value-bytes": { type: "string", default: "100" },
  rounds: { type: "string", default: "1" },
  failover: { type: "boolean", default: false },
  "failover-runs": { type: "string", default: "5" },
  "tick-ms": { type: "string" },
  "election-ticks": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

export function parseBenchArgs(argv: readonly string[]): BenchArgsResult {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: FLAGS,
    });
    if (values.help) return { type: "help", text: BENCH_USAGE };
    const options: BenchOptions = {
      endpoints: values.endpoints === undefined ? null : parseEndpoints(values.endpoints),
      clients: listOf("clients", values.clients).map((c) => intFlag("clients", c, 1, CLIENTS_MAX)),
      workloads: listOf("workloads", values.workloads).map(parseWorkload),
      target: parseTarget(values.target),
      compare: values.compare,
      via: parseVia(values.via),
      warmupSeconds: secondsFlag("warmup", values.warmup, 0),
      seconds: secondsFlag("seconds", values.seconds, 0.1),
      keys: intFlag("keys", values.keys, 1, KEYS_MAX),
      valueBytes: intFlag("value-bytes", values["value-bytes"], 0, VALUE_BYTES_MAX),
      rounds: intFlag("rounds", values.rounds, 1, ROUNDS_MAX),
      failover: values.failover,
      failoverRuns: intFlag("failover-runs", values["failover-runs"], 1, FAILOVER_RUNS_MAX),
      tickMs: optionalInt("tick-ms", values["tick-ms"], 1, 10_000),
      electionTicks: optionalInt("election-ticks", values["election-ticks"], 2, 1000),
    };
    return crossCheck(options);
  } catch (err) {
    // parseArgs throws TypeErrors that name the flag ("Unknown option '--x'"), ours FlagErrors.
    return { type: "error", message: err instanceof Error ? err.message : String(err) };
  }
}

/** Rules that span flags. */
function crossCheck(options: BenchOptions): BenchArgsResult {
  if (options.compare && options.endpoints !== null) {
    return { type: "error", message: "--compare starts both clusters itself (drop --endpoints)" };
  }
  const etcd = options.compare || options.target === "etcd";
  if (etcd && options.electionTicks !== null && options.electionTicks < ETCD_ELECTION_TICKS_MIN) {
    return {
      type: "error",
      message: `--election-ticks: etcd needs at least ${ETCD_ELECTION_TICKS_MIN}`,
    };
  }
  if (options.endpoints !== null) {
    if (options.tickMs !== null || options.electionTicks !== null) {
      return { type: "error", message: "--tick-ms and --election-ticks only tune a local cluster" };
    }
    if (options.failover) {
      return {
        type: "error",
        message: "--failover kills processes, so it needs the local cluster (drop --endpoints)",
      };
    }
  }
  return { type: "ok", options };
}
