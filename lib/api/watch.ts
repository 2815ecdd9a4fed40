// GET /v1/watch?prefix=P&fromRevision=R — the change feed, as Server-Sent Events or, with
// `Upgrade: websocket`, as WebSocket messages (each the event's JSON object).
//
// Where a watch starts: after `Last-Event-ID` (header, or `?lastEventId=` for clients that
// cannot set headers) if given — it wins over fromRevision, as a browser's reconnect repeats
// the original URL; else at `fromRevision` (inclusive); else live (after the node's current
// revision). A node serves watches from its own applied log, so a watch on a follower lives
// through leader changes; ids are the same on every node (revisions and the order of a
// revision's events are replicated), so a watch can resume on another node.
//
// Ids: "R" for the last event a watcher gets of revision R, "R.k" for the others (k: the
// event's position within revision R). Resuming after either neither skips nor repeats.

import type { Context, Hono } from "hono";
import { z } from "zod";
import {
  keyProblem,
  parseWatchId,
  type WatchCursor,
  WatchHub,
  type WatchHubOptions,
  type WatchSubscription,
} from "../kv/mod.ts";
import type { Replica } from "../replica/replica.ts";
import { parseQuery } from "./request.ts";
import { gone, problem, unavailable } from "./route_support.ts";
import { pumpSse, pumpWebSocket, type StreamOptions } from "./watch_stream.ts";

export type { StreamOptions } from "./watch_stream.ts";

/** A hub fed by `replica`'s applied log. detach() unsubscribes and closes the hub (ending
 * every watch): call it before shutting the HTTP server down, which waits for open streams. */
export function attachWatchHub(
  replica: Replica,
  options: Partial<WatchHubOptions> = {},
): { hub: WatchHub; detach: () => void } {
  const hub = new WatchHub(replica.sm.revision, options);
  const offApplied = replica.onApplied((applied) => hub.publish(applied));
  const offRestore = replica.onRestore((sm) => hub.restored(sm.revision));
  return {
    hub,
    detach() {
      offApplied();
      offRestore();
      hub.close();
    },
  };
}

function watchQuery(maxKeyBytes: number) {
  return z.object({
    prefix: z.string().superRefine((s, ctx) => {
      const why = s === "" ? null : keyProblem(s, maxKeyBytes);
      if (why !== null) ctx.addIssue({ code: "custom", message: `prefix: ${why}` });
    }).optional(),
    fromRevision: z.string().regex(/^[0-9]{1,15}$/, "fromRevision: expected a non-negative integer")
      .transform(Number).optional(),
    lastEventId: z.string().optional(),
  });
}

export interface WatchRouteOptions extends Partial<StreamOptions> {
  maxKeyBytes: number;
}

export function registerWatchRoute(app: Hono, hub: WatchHub, o: WatchRouteOptions): void {
  const schema = watchQuery(o.maxKeyBytes);
  const stream: StreamOptions = {
    keepAliveMs: o.keepAliveMs ?? 15_000,
    batchEvents: o.batchEvents ?? 256,
    socketBufferedBytesMax: o.socketBufferedBytesMax ?? 4 * 1024 * 1024,
    drainPollMs: o.drainPollMs ?? 20,
  };

  app.get("/v1/watch", (c) => {
    const parsed = parseQuery(schema, c.req.query());
    if (!parsed.ok) return problem(parsed.status, parsed.detail);
    const q = parsed.value;
    const start = startCursor(hub, c.req.header("last-event-id") ?? q.lastEventId, q.fromRevision);
    if (!start.ok) return problem(400, start.detail);
    const sub = subscribe(hub, q.prefix ?? "", start);
    if (sub instanceof Response) return sub;
    if (c.req.method === "HEAD") {
      // The head only: a stream nobody reads would hold its subscription forever.
      sub.close();
      return c.body(null, 200, {
        "content-type": "text/event-stream",
        "x-kv-revision": String(hub.revision),
      });
    }
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
      return upgrade(c, sub, stream);
    }
    // The revision the watch started at: with a live watch, events come after it.
    c.header("x-kv-revision", String(hub.revision));
    return pumpSse(c, sub, stream);
  });
}

type Start =
  | { ok: true; cursor: WatchCursor; field: "Last-Event-ID" | "fromRevision" | null }
  | { ok: false; detail: string };

function startCursor(hub: WatchHub, lastEventId: string | undefined, from?: number): Start {
  if (lastEventId !== undefined && lastEventId.trim() !== "") {
    const cursor = parseWatchId(lastEventId);
    if (cursor === null) {
      return { ok: false, detail: 'Last-Event-ID: expected an event id such as "42" or "42.1"' };
    }
    return { ok: true, cursor, field: "Last-Event-ID" };
  }
  if (from !== undefined) {
    return { ok: true, cursor: hub.cursorFromRevision(from), field: "fromRevision" };
  }
  return { ok: true, cursor: hub.cursorNow(), field: null };
}

function subscribe(
  hub: WatchHub,
  prefix: string,
  start: Extract<Start, { ok: true }>,
): WatchSubscription | Response {
  const r = hub.subscribe(prefix, start.cursor);
  switch (r.type) {
    case "ok":
      return r.subscription;
    case "tooOld":
      return gone(
        `${
          start.field ?? "fromRevision"
        }: events this watch needs are older than this node's change history; the oldest revision a watch can start from is ${r.oldestRevision} (read the current state, then watch from its revision + 1)`,
        { oldestRevision: r.oldestRevision, currentRevision: hub.revision },
      );
    case "full":
      return unavailable(`too many watches on this node (${r.subscribersMax})`);
    case "closed":
      return unavailable("the node is stopping");
  }
}

function upgrade(c: Context, sub: WatchSubscription, o: StreamOptions): Response {
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(c.req.raw);
  } catch (e) {
    sub.close();
    return problem(400, `Upgrade: not a valid WebSocket handshake (${(e as Error).message})`);
  }
  pumpWebSocket(upgraded.socket, sub, o);
  return upgraded.response;
}
