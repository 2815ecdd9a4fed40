// The live dashboard (API.md §4): GET / serves a self-contained page that polls every
// member's /v1/status and follows /v1/watch; readCors lets it read the other members.

import type { Hono, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { CONTENT_SECURITY_POLICY, dashboardPage } from "./page.ts";

export { CONTENT_SECURITY_POLICY, dashboardPage } from "./page.ts";
export { clientScript, POLL_MS } from "./client.ts";
export {
  type DashboardModel,
  dashboardModel,
  type DashState,
  type LeaderChange,
  type MemberStatus,
  type NodeStatus,
  type Poll,
  type Row,
  type View,
} from "./model.ts";

export function registerDashboard(app: Hono): void {
  // Built once: the page is the same for every request.
  const page = dashboardPage();
  app.get("/", (c) => {
    return c.html(page, 200, {
      "cache-control": "no-store",
      "content-security-policy": CONTENT_SECURITY_POLICY,
    });
  });
}

/** `Access-Control-Allow-Origin: *` for reads, so a page served by one member can poll the
 * others. Register on /v1/status and /v1/watch. A WebSocket upgrade passes untouched: Hono
 * would rebuild its 101 response to add the header, which a 101 does not survive. */
export function readCors(): MiddlewareHandler {
  const allow = cors({ origin: "*", allowMethods: ["GET"] });
  return async (c, next) => {
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") return await next();
    return await allow(c, next);
  };
}
