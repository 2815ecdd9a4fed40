// Shared by this folder's tests: replicas over the in-memory storage and network, each with
// its HTTP app and watch hub, a real server on a free loopback port, and an SSE reader.

import assert from "node:assert/strict";
import type { Hono } from "hono";
import type { WatchHub, WatchHubOptions } from "../kv/mod.ts";
import type { Replica } from "../replica/replica.ts";
import { openTestReplica, waitForLeader } from "../replica/test_cluster.ts";
import { MemoryNetwork, type MemoryTransport } from "../transport/mod.ts";
import { parseSse, type SseEvent } from "../cli/sse.ts";
import { createApp } from "./app.ts";
import { attachWatchHub } from "./watch.ts";
import { NodeMetrics } from "../metrics/mod.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export interface Node {
  replica: Replica;
  app: Hono;
  hub: WatchHub;
  transport: MemoryTransport;
  detach: () => void;
}

export interface ClusterOptions {
  ids?: string[];
  hub?: Partial<WatchHubOptions>;
  snapshotEntries?: number;
  maxValueBytes?: number;
  now?: () => number;
  requestTimeoutMs?: number;
  /** Request metrics and GET /metrics, as on a real node. */
  metrics?: boolean;
}

export class Cluster {
  constructor(readonly net: MemoryNetwork, readonly nodes: Node[]) {}

  get(id: string): Node {
    const node = this.nodes.find((n) => n.replica.id === id);
    assert.ok(node, `no node ${id}`);
    return node;
  }

  /** The leader every other reachable node agrees on (among `among`, default all). */
  async leader(among: Node[] = this.nodes): Promise<Node> {
    const leader = await waitForLeader(among.map((n) => n.replica));
    return among.find((n) => n.replica === leader)!;
  }

  async close(): Promise<void> {
    this.net.heal();
    for (const n of this.nodes) n.detach();
    for (const n of this.nodes) await n.replica.stop();
    for (const n of this.nodes) await n.transport.close();
  }
}

/** Voters with fast ticks, each with an app whose hub is attached before the replica starts. */
export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const ids = o.ids ?? ["a"];
  const net = new MemoryNetwork();
  const maxValueBytes = o.maxValueBytes ?? 1024 * 1024;
  const nodes: Node[] = [];
  for (const id of ids) {
    const { replica, transport } = await openTestReplica(net, id, {
      voters: ids,
      snapshotEntries: o.snapshotEntries,
      requestTimeoutMs: o.requestTimeoutMs,
      kvLimits: { valueBytesMax: maxValueBytes },
      now: o.now,
      start: false, // the hub attaches first
    });
    const { hub, detach } = attachWatchHub(replica, o.hub);
    const app = createApp({
      replica,
      redirect: false,
      maxKeyBytes: 1024,
      maxValueBytes,
      peerStatus: () => new Map(),
      watchHub: hub,
      ...(o.metrics ? { metrics: new NodeMetrics() } : {}),
    });
    replica.start();
    nodes.push({ replica, app, hub, transport, detach });
  }
  const cluster = new Cluster(net, nodes);
  await cluster.leader();
  return cluster;
}

/** One voter that leads itself. */
export async function single(
  o: Omit<ClusterOptions, "ids"> = {},
): Promise<Node & { close: () => Promise<void> }> {
  const cluster = await startCluster({ ...o, ids: ["a"] });
  return { ...cluster.nodes[0], close: () => cluster.close() };
}

export async function put(node: Node, key: string, value: string | Uint8Array, ttlMs?: number) {
  const o = await node.replica.write({
    type: "put",
    key,
    value: typeof value === "string" ? encoder.encode(value) : value,
    ...(ttlMs === undefined ? {} : { ttlMs }),
  });
  assert.equal(o.type, "applied", `put ${key}: ${JSON.stringify(o)}`);
  if (o.type !== "applied" || o.result.type !== "put") throw new Error(`put ${key} failed`);
  return o.result;
}

export async function del(node: Node, key: string) {
  const o = await node.replica.write({ type: "delete", key });
  assert.equal(o.type, "applied");
}

export async function json(res: Response): Promise<Record<string, unknown>> {
  return await res.json() as Record<string, unknown>;
}

// ---------------------------------------------------------------- real servers

export interface Served {
  url: string;
  close: () => Promise<void>;
}

export function serve(app: Hono): Served {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

/** An open SSE stream read event by event. */
export class SseClient {
  readonly response: Response;
  #events: AsyncGenerator<SseEvent>;
  #controller: AbortController;

  private constructor(response: Response, controller: AbortController) {
    this.response = response;
    this.#controller = controller;
    assert.ok(response.body);
    this.#events = parseSse(response.body);
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const controller = new AbortController();
    const response = await fetch(url, {
      headers: { accept: "text/event-stream", ...headers },
      signal: controller.signal,
    });
    if (response.status !== 200) {
      const body = await response.text();
      throw new Error(`watch ${url}: HTTP ${response.status} ${body}`);
    }
    return new SseClient(response, controller);
  }

  /** The next event; throws after `timeoutMs` or when the stream ends. */
  async next(timeoutMs = 3000): Promise<SseEvent> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no SSE event within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const r = await Promise.race([this.#events.next(), timeout]);
      if (r.done) throw new Error("the SSE stream ended");
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `n` events. */
  async take(n: number, timeoutMs = 3000): Promise<SseEvent[]> {
    const out: SseEvent[] = [];
    while (out.length < n) out.push(await this.next(timeoutMs));
    return out;
  }

  /** True once the server has ended the stream (after any remaining events are read). */
  async ended(timeoutMs = 3000): Promise<SseEvent[]> {
    const rest: SseEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`stream still open after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      for (;;) {
        const r = await Promise.race([this.#events.next(), timeout]);
        if (r.done) return rest;
        rest.push(r.value);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await this.#events.return(undefined).catch(() => {});
    await this.response.body?.cancel().catch(() => {});
  }
}

/** The data objects of watch events, with their SSE ids. */
export function watchData(
  events: SseEvent[],
): { id: string | null; data: Record<string, unknown> }[] {
  return events.map((e) => ({ id: e.id, data: JSON.parse(e.data) as Record<string, unknown> }));
}
