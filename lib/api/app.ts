// The client HTTP API (API.md §3) on Hono: keys in the path, raw values in the body,
// problem+json errors. Any node answers: followers forward writes over Raft and serve
// linearizable reads through ReadIndex.

import { Hono } from "hono";
import type { Context } from "hono";
import type { CommandResult } from "../kv/mod.ts";
import type { NodeId } from "../raft/mod.ts";
import type { Replica, WriteCommand, WriteOutcome } from "../replica/replica.ts";
import type { PeerStatus } from "../transport/mod.ts";
import { problem, timedOut, unavailable } from "./problem.ts";
import {
  getQuery,
  type Parsed,
  parseIfMatch,
  parseIfNoneMatch,
  parseKey,
  parseQuery,
  putQuery,
} from "./request.ts";
import { statusBody } from "./status.ts";
import { registerMemberRoutes } from "./members.ts";
import { registerBackupRoutes } from "../backup/mod.ts";
import {
  type NodeMetrics,
  registerHealthRoute,
  registerMetricsRoute,
  requestMetrics,
} from "../metrics/mod.ts";
import { readCors, registerDashboard } from "../dashboard/mod.ts";
import type { WatchHub } from "../kv/mod.ts";
import { registerListRoute } from "./list.ts";
import { registerTxnRoute } from "./txn.ts";
import { attachWatchHub, registerWatchRoute } from "./watch.ts";

export interface ApiOptions {
  replica: Replica;
  /** Followers answer 307 to the leader instead of forwarding (`--redirect`). */
  redirect: boolean;
  maxKeyBytes: number;
  maxValueBytes: number;
  peerStatus: () => Map<NodeId, PeerStatus>;
  /** Applied index lag beyond which /v1/health reports unhealthy. */
  healthLagMax?: number;
  /** Silence from the leader (ms) beyond which /v1/health reports unhealthy. */
  leaderContactMaxMs?: number;
  /** Request metrics and GET /metrics. */
  metrics?: NodeMetrics;
  /** The change feed behind /v1/watch and pinned listings. Pass one from attachWatchHub
   * (and detach it before shutting the server down); without, one is attached here. */
  watchHub?: WatchHub;
}

export function createApp(o: ApiOptions): Hono {
  const app = new Hono();
  const { replica } = o;
  // First, so that they wrap every route below.
  if (o.metrics) app.use("*", requestMetrics(o.metrics.http));
  app.use("/v1/status", readCors());
  app.use("/v1/watch", readCors());

  /** 307 to the leader when the client (or the node's flag) asks for redirects. */
  function redirectIfFollower(c: Context): Response | null {
    const wanted = o.redirect || c.req.query("redirect") !== undefined;
    if (!wanted || replica.node.role === "leader") return null;
    const leader = replica.members().find((m) => m.id === replica.node.leader);
    if (!leader) return unavailable("no leader is known; retry shortly");
    const url = new URL(c.req.url);
    return c.redirect(`${leader.client.replace(/\/$/, "")}${url.pathname}${url.search}`, 307);
  }

  function failed<T>(p: Parsed<T>): p is Extract<Parsed<T>, { ok: false }> {
    return !p.ok;
  }

  // Listing, transactions and watch. Before the /v1/kv/* routes: that pattern matches /v1/kv.
  const hub = o.watchHub ?? attachWatchHub(replica).hub;
  const deps = { ...o, redirectIfFollower };
  registerListRoute(app, deps, hub);
  registerTxnRoute(app, deps);
  registerWatchRoute(app, hub, { maxKeyBytes: o.maxKeyBytes });

  app.put("/v1/kv/*", async (c) => {
    const key = parseKey(c.req.url, o.maxKeyBytes);
    if (failed(key)) return problem(key.status, key.detail);
    const query = parseQuery(putQuery, c.req.query());
    if (failed(query)) return problem(400, query.detail);
    const ifMatch = parseIfMatch(c.req.header("if-match"));
    if (failed(ifMatch)) return problem(400, ifMatch.detail);
    const ifNoneMatch = parseIfNoneMatch(c.req.header("if-none-match"));
    if (failed(ifNoneMatch)) return problem(400, ifNoneMatch.detail);
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > o.maxValueBytes) return tooLarge(declared, o.maxValueBytes);
    const redirect = redirectIfFollower(c);
    if (redirect) return redirect;
    const value = new Uint8Array(await c.req.arrayBuffer());
    if (value.byteLength > o.maxValueBytes) return tooLarge(value.byteLength, o.maxValueBytes);
    const command: WriteCommand = {
      type: "put",
      key: key.value,
      value,
      ...(query.value.ttl !== undefined ? { ttlMs: query.value.ttl * 1000 } : {}),
      ...(ifMatch.value !== undefined ? { ifRevision: ifMatch.value } : {}),
      ...(ifNoneMatch.value ? { ifAbsent: true } : {}),
      ...idempotency(c),
    };
    return writeResponse(await replica.write(command));
  });

  app.delete("/v1/kv/*", async (c) => {
    const key = parseKey(c.req.url, o.maxKeyBytes);
    if (failed(key)) return problem(key.status, key.detail);
    const ifMatch = parseIfMatch(c.req.header("if-match"));
    if (failed(ifMatch)) return problem(400, ifMatch.detail);
    const redirect = redirectIfFollower(c);
    if (redirect) return redirect;
    const command: WriteCommand = {
      type: "delete",
      key: key.value,
      ...(ifMatch.value !== undefined ? { ifRevision: ifMatch.value } : {}),
      ...idempotency(c),
    };
    return writeResponse(await replica.write(command), key.value);
  });

  app.get("/v1/kv/*", async (c) => {
    const key = parseKey(c.req.url, o.maxKeyBytes);
    if (failed(key)) return problem(key.status, key.detail);
    const query = parseQuery(getQuery, c.req.query());
    if (failed(query)) return problem(400, query.detail);
    const redirect = redirectIfFollower(c);
    if (redirect) return redirect;
    if (query.value.minRevision !== undefined) {
      if (!await replica.waitApplied(query.value.minRevision)) return timedOut();
    }
    if ((query.value.consistency ?? "linearizable") === "linearizable") {
      const barrier = await replica.readBarrier();
      if (barrier.type === "unavailable") return unavailable(barrier.reason);
      if (barrier.type === "timeout") return timedOut();
    }
    const kv = replica.sm.get(key.value, replica.clock());
    const revision = String(replica.sm.revision);
    if (!kv) {
      return problem(404, `key ${JSON.stringify(key.value)} not found`, {}, {
        "x-kv-revision": revision,
      });
    }
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "etag": `"${kv.modRevision}"`,
      "x-kv-version": String(kv.version),
      "x-kv-revision": revision,
    };
    if (kv.expiresAt !== null) headers["x-kv-expires-at"] = new Date(kv.expiresAt).toISOString();
    return new Response(kv.value.slice(), { status: 200, headers });
  });

  registerMemberRoutes(app, replica);
  registerBackupRoutes(app, replica);

  app.get("/v1/status", (c) => c.json(statusBody(replica, replica.members(), o.peerStatus())));

  registerHealthRoute(app, replica, o.peerStatus, {
    lagMax: o.healthLagMax,
    contactMaxMs: o.leaderContactMaxMs,
  });
  if (o.metrics) registerMetricsRoute(app, o.metrics.registry);
  registerDashboard(app);

  app.notFound((c) => problem(404, `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((err) => {
    console.error(`raftkv: internal error: ${err.stack ?? err}`);
    return problem(500, "internal error");
  });
  return app;
}

function idempotency(c: Context): { idempotencyKey?: string } {
  const key = c.req.header("idempotency-key");
  return key ? { idempotencyKey: key } : {};
}

function tooLarge(bytes: number, max: number): Response {
  return problem(413, `value: ${bytes} bytes is over the limit of ${max} bytes`);
}

function writeResponse(outcome: WriteOutcome, key?: string): Response {
  switch (outcome.type) {
    case "unavailable":
      return unavailable(outcome.reason);
    case "timeout":
      return timedOut();
    case "applied":
      return resultResponse(outcome.result, key);
  }
}

function resultResponse(r: CommandResult, key?: string): Response {
  switch (r.type) {
    case "put":
      return Response.json({ revision: r.revision, version: r.version });
    case "delete":
      return Response.json({ revision: r.revision });
    case "notFound":
      return problem(404, `key ${JSON.stringify(key ?? "")} not found`);
    case "failed":
      return problem(412, preconditionDetail(r.reason), {
        currentRevision: r.current?.revision ?? null,
        currentVersion: r.current?.version ?? null,
      });
    case "invalid":
      return problem(400, r.reason);
    case "txn":
    case "sweep":
    case "error":
      return problem(500, `unexpected result ${r.type}`);
  }
}

function preconditionDetail(reason: "revision" | "exists" | "version"): string {
  switch (reason) {
    case "revision":
      return "If-Match: the key's current revision differs (or the key is absent)";
    case "exists":
      return "If-None-Match: the key already exists";
    case "version":
      return "the key's current version differs";
  }
}
