import assert from "node:assert/strict";
import { Hono } from "hono";
import { type HttpMetrics, registerMetricsRoute, requestMetrics } from "./http.ts";
import { Registry } from "./registry.ts";

function setup() {
  const registry = new Registry();
  const m: HttpMetrics = {
    requests: registry.counter({
      name: "http_requests_total",
      help: "R.",
      labelNames: ["method", "route", "code"],
    }),
    duration: registry.histogram({
      name: "http_request_duration_seconds",
      help: "D.",
      labelNames: ["method", "route"],
      buckets: [0.01, 0.1, 1],
    }),
  };
  // A fake clock: each request takes exactly 50 ms.
  let clockMs = 0;
  const now = () => (clockMs += 50);
  const app = new Hono();
  app.use("*", requestMetrics(m, now));
  app.use("/v1/status", async (_c, next) => await next()); // a route-specific middleware
  app.get("/v1/kv/*", (c) => c.text("v"));
  app.put("/v1/kv/*", (c) => c.json({ revision: 2 }));
  app.delete("/v1/members/:id", (c) => c.json({ id: c.req.param("id") }, 409));
  app.get("/v1/status", (c) => c.json({}));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  registerMetricsRoute(app, registry);
  app.notFound((c) => c.text("no", 404));
  app.onError((_e, c) => c.text("err", 500));
  return { app, m, registry };
}

Deno.test("requests are labelled by the matched route pattern, not the raw path", async () => {
  const { app, m } = setup();
  await app.request("/v1/kv/a");
  await app.request("/v1/kv/b/c%20d");
  await app.request("/v1/kv/x", { method: "PUT", body: "1" });
  await app.request("/v1/members/n7", { method: "DELETE" });
  await app.request("/v1/status");
  assert.equal(m.requests.get({ method: "GET", route: "/v1/kv/*", code: "200" }), 2);
  assert.equal(m.requests.get({ method: "PUT", route: "/v1/kv/*", code: "200" }), 1);
  assert.equal(m.requests.get({ method: "DELETE", route: "/v1/members/:id", code: "409" }), 1);
  assert.equal(m.requests.get({ method: "GET", route: "/v1/status", code: "200" }), 1);
  const d = m.duration.snapshot({ method: "GET", route: "/v1/kv/*" });
  assert.equal(d.count, 2);
  assert.equal(d.sum, 0.05 * 2);
});

Deno.test("unmatched paths share one label; errors are counted with their status", async () => {
  const { app, m } = setup();
  for (let i = 0; i < 5; i++) await app.request(`/random/${i}`);
  await app.request("/boom");
  await app.request("/v1/kv/a", { method: "BREW" });
  assert.equal(m.requests.get({ method: "GET", route: "unmatched", code: "404" }), 5);
  assert.equal(m.requests.get({ method: "GET", route: "/boom", code: "500" }), 1);
  assert.equal(m.requests.get({ method: "other", route: "unmatched", code: "404" }), 1);
});

Deno.test("GET /metrics answers the exposition with its content type", async () => {
  const { app } = setup();
  await app.request("/v1/kv/a");
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  assert.match(text, /^http_requests_total\{method="GET",route="\/v1\/kv\/\*",code="200"\} 1$/m);
  assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
});
