import assert from "node:assert/strict";
import { CONTENT_TYPE, Registry } from "./registry.ts";

/** Every line of a 0.0.4 exposition: a HELP/TYPE comment or `name{labels} value`. */
const SAMPLE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*",?)*\})? (NaN|[+-]Inf|-?[0-9.e+-]+)$/;

function assertWellFormed(text: string): void {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    assert.match(line, SAMPLE);
  }
}

Deno.test("a counter without labels shows 0 before any increment, then its total", () => {
  const r = new Registry();
  const c = r.counter({ name: "jobs_total", help: "Jobs done." });
  assert.equal(
    r.expose(),
    "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 0\n",
  );
  c.inc();
  c.inc(undefined, 2.5);
  assert.equal(c.get(), 3.5);
  assert.match(r.expose(), /^jobs_total 3\.5$/m);
  assert.throws(() => c.inc(undefined, -1), /not >= 0/);
});

Deno.test("labelled series render in creation order with escaped values", () => {
  const r = new Registry();
  const c = r.counter({ name: "req_total", help: "Requests.", labelNames: ["route", "code"] });
  c.inc({ route: "/v1/kv/*", code: "200" });
  c.inc({ route: "/v1/kv/*", code: "200" });
  c.inc({ route: 'we"ird\\path\nx', code: "404" });
  assert.equal(
    r.expose(),
    [
      "# HELP req_total Requests.",
      "# TYPE req_total counter",
      'req_total{route="/v1/kv/*",code="200"} 2',
      'req_total{route="we\\"ird\\\\path\\nx",code="404"} 1',
      "",
    ].join("\n"),
  );
  assertWellFormed(r.expose());
});

Deno.test("a labelled metric with no series yet shows only HELP and TYPE", () => {
  const r = new Registry();
  r.gauge({ name: "peer_up", help: "Up.", labelNames: ["peer"] });
  assert.equal(r.expose(), "# HELP peer_up Up.\n# TYPE peer_up gauge\n");
});

Deno.test("HELP escapes backslash and newline", () => {
  const r = new Registry();
  r.gauge({ name: "g", help: "a\\b\nc" });
  assert.match(r.expose(), /^# HELP g a\\\\b\\nc$/m);
});

Deno.test("gauges set, add and reset; missing labels throw", () => {
  const r = new Registry();
  const g = r.gauge({ name: "temp", help: "T.", labelNames: ["room"] });
  g.set({ room: "a" }, 5);
  g.inc({ room: "a" }, -2);
  g.set({ room: "b" }, NaN);
  assert.equal(g.get({ room: "a" }), 3);
  assert.match(r.expose(), /^temp\{room="b"\} NaN$/m);
  g.reset();
  assert.doesNotMatch(r.expose(), /^temp\{/m);
  assert.throws(() => g.set({} as { room: string }, 1), /label room missing/);
});

Deno.test("histogram buckets are cumulative, le is last, +Inf equals the count", () => {
  const r = new Registry();
  const h = r.histogram({
    name: "lat_seconds",
    help: "Latency.",
    labelNames: ["op"],
    buckets: [0.125, 0.25, 1],
  });
  for (const v of [0.0625, 0.125, 0.25, 0.5, 2, 4]) h.observe({ op: "append" }, v);
  assert.deepEqual(
    r.expose().split("\n").filter((l) => !l.startsWith("#")),
    [
      'lat_seconds_bucket{op="append",le="0.125"} 2',
      'lat_seconds_bucket{op="append",le="0.25"} 3',
      'lat_seconds_bucket{op="append",le="1"} 4',
      'lat_seconds_bucket{op="append",le="+Inf"} 6',
      'lat_seconds_sum{op="append"} 6.9375',
      'lat_seconds_count{op="append"} 6',
      "",
    ],
  );
  assert.equal(h.snapshot({ op: "append" }).count, 6);
  assert.equal(h.snapshot({ op: "other" }).count, 0);
  assertWellFormed(r.expose());
});

Deno.test("histogram buckets must increase and `le` is reserved", () => {
  const r = new Registry();
  assert.throws(() => r.histogram({ name: "h1", help: "", buckets: [1, 1] }), /increasing/);
  assert.throws(() => r.histogram({ name: "h2", help: "", buckets: [] }), /1 to 64/);
  assert.throws(
    () => r.histogram({ name: "h3", help: "", labelNames: ["le"], buckets: [1] }),
    /bad label name/,
  );
});

Deno.test("bad metric and label names, and duplicates, are refused", () => {
  const r = new Registry();
  assert.throws(() => r.counter({ name: "1abc", help: "" }), /bad metric name/);
  assert.throws(() => r.counter({ name: "ok", help: "", labelNames: ["a-b"] }), /bad label/);
  assert.throws(() => r.counter({ name: "ok", help: "", labelNames: ["__x"] }), /bad label/);
  assert.throws(() => r.counter({ name: "ok", help: "", labelNames: ["a", "a"] }), /duplicate/);
  r.counter({ name: "ok", help: "" });
  assert.throws(() => r.gauge({ name: "ok", help: "" }), /registered twice/);
});

Deno.test("series beyond seriesMax are dropped and counted, existing ones keep counting", () => {
  const r = new Registry(2);
  const c = r.counter({ name: "c_total", help: "C.", labelNames: ["k"] });
  c.inc({ k: "a" });
  c.inc({ k: "b" });
  c.inc({ k: "c" });
  c.inc({ k: "a" });
  assert.equal(r.seriesDropped, 1);
  assert.equal(c.get({ k: "a" }), 2);
  assert.doesNotMatch(r.expose(), /k="c"/);
});

Deno.test("callback metrics are read at every scrape and show exactly what they return", () => {
  const r = new Registry();
  let peers: [string, number][] = [["n2", 1], ["n3", 0]];
  r.callback({
    type: "gauge",
    name: "peer_connected",
    help: "Link up.",
    labelNames: ["peer"],
    collect: () => peers.map(([peer, value]) => ({ labels: { peer }, value })),
  });
  r.callback({
    type: "counter",
    name: "frames_total",
    help: "F.",
    collect: () => [{ labels: {}, value: Infinity }],
  });
  assert.match(r.expose(), /^peer_connected\{peer="n3"\} 0$/m);
  assert.match(r.expose(), /^# TYPE frames_total counter\nframes_total \+Inf$/m);
  peers = [["n2", 1]];
  assert.doesNotMatch(r.expose(), /n3/);
  assertWellFormed(r.expose());
});

Deno.test("the content type names version 0.0.4", () => {
  assert.equal(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
});
