import assert from "node:assert/strict";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { clientScript, CONTENT_SECURITY_POLICY, readCors, registerDashboard } from "./mod.ts";

function app(): Hono {
  const a = new Hono();
  a.use("/v1/status", readCors());
  a.use("/v1/watch", readCors());
  registerDashboard(a);
  a.get("/v1/status", (c) => c.json({ id: "n1" }));
  a.get("/v1/watch", (c) =>
    streamSSE(c, async (s) => {
      await s.writeSSE({ id: "2", event: "put", data: '{"type":"put","key":"a"}' });
    }));
  a.put("/v1/kv/*", (c) => c.json({ revision: 2 }));
  return a;
}

Deno.test("GET / serves the whole page, uncached, under a CSP that loads nothing else", async () => {
  const res = await app().request("/");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(res.headers.get("cache-control"), "no-store");
  assert.equal(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
  const html = await res.text();
  assert.match(html, /^<!doctype html>/);
  for (const id of ["leader", "members", "changes", "feed", "watch-state"]) {
    assert.match(html, new RegExp(`id="${id}"`), `element #${id}`);
  }
  // Offline: no external script, style, font or image.
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i);
  assert.doesNotMatch(html, /@import|url\(/);
  assert.equal(html.match(/<\/script>/g)?.length, 1, "the script cannot end early");
});

Deno.test("the page's script parses as JavaScript", () => {
  // Compiled, not run: a syntax error in the template would otherwise show only in a browser.
  assert.doesNotThrow(() => new Function(clientScript()));
});

Deno.test("status and watch answer any origin; other routes do not", async () => {
  const a = app();
  const headers = { origin: "http://127.0.0.1:7002" };
  const status = await a.request("/v1/status", { headers });
  assert.equal(status.headers.get("access-control-allow-origin"), "*");
  assert.deepEqual(await status.json(), { id: "n1" });
  const watch = await a.request("/v1/watch", { headers });
  assert.equal(watch.headers.get("access-control-allow-origin"), "*");
  assert.match(watch.headers.get("content-type") ?? "", /^text\/event-stream/);
  assert.match(await watch.text(), /event: put/);
  const put = await a.request("/v1/kv/x", { method: "PUT", headers });
  assert.equal(put.headers.get("access-control-allow-origin"), null);
});

Deno.test("a WebSocket upgrade on /v1/watch passes readCors untouched", async () => {
  const a = new Hono();
  a.use("/v1/watch", readCors());
  a.get("/v1/watch", (c) => c.text("upgrade here", 200, { "x-seen": "1" }));
  const res = await a.request("/v1/watch", {
    headers: { origin: "http://x", upgrade: "websocket" },
  });
  assert.equal(res.headers.get("access-control-allow-origin"), null);
  assert.equal(res.headers.get("x-seen"), "1");
  assert.equal(await res.text(), "upgrade here");
});
