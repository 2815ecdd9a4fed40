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
import { idempotencyConflict, parseIdempotencyKey, readBody, readReady } from "./route_support.ts";
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
    const idempotency = parseIdempotencyKey(c);
    if (failed(idempotency)) return problem(idempotency.status, idempotency.detail);
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > o.maxValueBytes) return tooLarge(declared, o.maxValueBytes);
    const redirect = redirectIfFollower(c);
    if (redirect) return redirect;
    // Read no further than the limit: a chunked body of any size costs at most that much.
    const value = await readBody(c.req.raw, o.maxValueBytes, "value");
    if (value instanceof Response) return value;
    const command: WriteCommand = {
      type: "put",
      key: key.value,
      value,
      ...(query.value.ttl !== undefined ? { ttlMs: query.value.ttl * 1000 } : {}),
      ...(ifMatch.value !== undefined ? { ifRevision: ifMatch.value } : {}),
      ...(ifNoneMatch.value ? { ifAbsent: true } : {}),
      ...idempotency.value,
    };
    return writeResponse(await replica.write(command), "put", key.value);
  });

  app.delete("/v1/kv/*", async (c) => {
    const key = parseKey(c.req.url, o.maxKeyBytes);
    if (failed(key)) return problem(key.status, key.detail);
    const ifMatch = parseIfMatch(c.req.header("if-match"));
    if (failed(ifMatch)) return problem(400, ifMatch.detail);
    const idempotency = parseIdempotencyKey(c);
    if (failed(idempotency)) return problem(idempotency.status, idempotency.detail);
    const redirect = redirectIfFollower(c);
    if (redirect) return redirect;
    const command: WriteCommand = {
      type: "delete",
      key: key.value,
      ...(ifMatch.value !== undefined ? { ifRevision: ifMatch.value } : {}),
      ...idempotency.value,
    };
    return writeResponse(await replica.write(command), "delete", key.value);
  });

  app.get("/v1/kv/*", async (c) => {
    const key = parseKey(c.req.url, o.maxKeyBytes);
    if (failed(key)) return problem(key.status, key.detail);
    const query = parseQuery(getQuery, c.req.query());
    if (failed(query)) return problem(400, query.detail);
    const redirect = redirectIfFollower(c);
    if (redirect) return redirect;
    const notReady = await readReady(replica, query.value.consistency, query.value.minRevision);
    if (notReady) return notReady;
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

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(app, path);
    if (allowed.length === 0) return problem(404, `no route for ${c.req.method} ${path}`);
    const allow = allowed.join(", ");
    return problem(
      405,
      `method: ${c.req.method} is not allowed on ${path} (allowed: ${allow})`,
      {},
      {
        Allow: allow,
      },
    );
  });
  app.onError((err) => {
    console.error(`raftkv: internal error: ${err.stack ?? err}`);
    return problem(500, "internal error");
  });
  return app;
}

/** The methods some route answers on `path` (HEAD wherever GET is), sorted. */
export function allowedMethods(app: Hono, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || !routePattern(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === "GET") methods.add("HEAD");
  }
  return [...methods].sort();
}

/** A Hono path pattern as a RegExp: `:name` is one segment, a trailing `/*` is optional. */
function routePattern(path: string): RegExp {
  const parts = path.split("/").map((part) => {
    if (part === "*") return "(?:/.*)?";
    if (part.startsWith(":")) return "/[^/]+";
    return "/" + part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  const source = path === "/" ? "/" : parts.slice(1).join("");
  return new RegExp(`^${source}$`);
}

function tooLarge(bytes: number, max: number): Response {
  return problem(413, `value: ${bytes} bytes is over the limit of ${max} bytes`);
}

function writeResponse(outcome: WriteOutcome, kind: "put" | "delete", key: string): Response {
  switch (outcome.type) {
    case "unavailable":
      return unavailable(outcome.reason);
    case "timeout":
      return timedOut();
    case "applied":
      return resultResponse(outcome.result, kind, key);
  }
}

function resultResponse(r: CommandResult, kind: "put" | "delete", key: string): Response {
  switch (r.type) {
    case "put":
    case "delete":
    case "notFound":
      if ((r.type === "put") !== (kind === "put")) break;
      if (r.type === "put") return Response.json({ revision: r.revision, version: r.version });
      if (r.type === "delete") return Response.json({ revision: r.revision });
      return problem(404, `key ${JSON.stringify(key)} not found`);
    case "failed":
      return problem(412, preconditionDetail(r.reason), {
        currentRevision: r.current?.revision ?? null,
        currentVersion: r.current?.version ?? null,
      });
    case "invalid":
      return problem(400, r.reason);
    case "error":
      return problem(500, `the write could not be applied: ${r.reason}`);
    case "txn":
    case "sweep":
      break;
  }
  // Only a replayed result can be of another kind: the key was first used for another write.
  return idempotencyConflict(r, kind === "put" ? "PUT" : "DELETE");
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
