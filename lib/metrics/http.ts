// Request metrics for the Hono app, labelled by the matched route pattern (e.g. "/v1/kv/*"),
// never the raw path, so a client cannot mint series; and the GET /metrics route.

import type { Context, Hono, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { CONTENT_TYPE, type Counter, type Histogram, type Registry } from "./registry.ts";

export type RequestLabel = "method" | "route" | "code";

export interface HttpMetrics {
  requests: Counter<RequestLabel>;
  duration: Histogram<"method" | "route">;
}

const METHODS = new Set(["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]);

/** Register first (before the routes) so that it wraps every request. */
export function requestMetrics(
  m: HttpMetrics,
  now: () => number = () => performance.now(),
): MiddlewareHandler {
  return async (c, next) => {
    const startMs = now();
    // Hono turns a throwing handler into onError's response, so next() settles normally.
    await next();
    const method = METHODS.has(c.req.method) ? c.req.method : "other";
    const route = routeLabel(c, c.res.status);
    m.requests.inc({ method, route, code: String(c.res.status) });
    // For a stream (SSE) this is the time to the response head, not the stream's life.
    m.duration.observe({ method, route }, (now() - startMs) / 1000);
  };
}

/** The pattern of the route that answered. After next(), routeIndex is the last handler
 * Hono ran: a middleware (method ALL) answering 404 means no route matched. */
export function routeLabel(c: Context, status: number): string {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (route === undefined || (route.method === "ALL" && status === 404)) return "unmatched";
  return route.path;
}

export function registerMetricsRoute(app: Hono, registry: Registry): void {
  app.get("/metrics", () => {
    return new Response(registry.expose(), { headers: { "content-type": CONTENT_TYPE } });
  });
}
