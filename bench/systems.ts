// The systems the bench can drive, each spoken in its own dialect: how a put and a
// linearizable get of a key look on the wire, and how to find the leader. raftkv speaks
// its HTTP API (API.md §3); etcd its v3 JSON gateway (grpc-gateway: base64 keys and values,
// POST /v3/kv/range is linearizable unless "serializable" is set).

import { Buffer } from "node:buffer";
import { etcdAgreedLeader } from "./etcd.ts";
import { agreedLeader, type Leader } from "./status.ts";

export const SYSTEMS = ["raftkv", "etcd"] as const;
export type System = typeof SYSTEMS[number];

/** One request, ready for fetch. */
export interface Op {
  url: string;
  method: "GET" | "PUT" | "POST";
  body: BodyInit | null;
}

export interface Dialect {
  readonly system: System;
  /** Writes the dialect's value (fixed at creation) under `key`. */
  put(endpoint: string, key: string): Op;
  /** A linearizable read of `key`. */
  get(endpoint: string, key: string): Op;
  /** The leader every endpoint names right now (see status.ts agreedLeader), or null. */
  agreedLeader(endpoints: readonly string[], requireAll: boolean): Promise<Leader | null>;
}

/** What the bench needs of a cluster it started itself (raftkv nodes or etcd members). */
export interface BenchCluster {
  readonly system: System;
  readonly dir: string;
  readonly nodes: readonly { id: string; client: string }[];
  readonly endpoints: string[];
  /** Raft timing (etcd: tick = heartbeat interval, electionTicks = timeout / heartbeat). */
  readonly timing: { tickMs: number; electionTicks: number };
  pids(): Map<string, number>;
  startNode(id: string): void;
  killNode(id: string): Promise<void>;
  killAllNow(): void;
  close(): Promise<void>;
  dump(): string;
}

export function dialectOf(system: System, value: Uint8Array): Dialect {
  switch (system) {
    case "raftkv":
      return raftkvDialect(value);
    case "etcd":
      return etcdDialect(value);
    default:
      return assertNever(system);
  }
}

function raftkvDialect(value: Uint8Array): Dialect {
  // Copied once into an ArrayBuffer-backed view so fetch can send it as is, every time.
  const body = new Uint8Array(value);
  return {
    system: "raftkv",
    put: (endpoint, key) => ({ url: `${endpoint}/v1/kv/${key}`, method: "PUT", body }),
    get: (endpoint, key) => ({ url: `${endpoint}/v1/kv/${key}`, method: "GET", body: null }),
    agreedLeader,
  };
}

export function base64Of(bytes: Uint8Array | string): string {
  return (typeof bytes === "string" ? Buffer.from(bytes, "utf8") : Buffer.from(bytes))
    .toString("base64");
}

function etcdDialect(value: Uint8Array): Dialect {
  const valueBase64 = base64Of(value);
  return {
    system: "etcd",
    put: (endpoint, key) => ({
      url: `${endpoint}/v3/kv/put`,
      method: "POST",
      body: `{"key":"${base64Of(key)}","value":"${valueBase64}"}`,
    }),
    get: (endpoint, key) => ({
      url: `${endpoint}/v3/kv/range`,
      method: "POST",
      body: `{"key":"${base64Of(key)}"}`,
    }),
    agreedLeader: etcdAgreedLeader,
  };
}

export function assertNever(value: never): never {
  throw new Error(`unexpected: ${JSON.stringify(value)}`);
}
