// Seeded fuzz of the HTTP API: random and near-valid requests to every route (paths, methods,
// headers, query values, bodies: huge, garbage, invalid JSON, invalid UTF-8) against the real
// Hono apps of a 3-node in-memory cluster, each served on a loopback port, plus raw malformed
// HTTP. Every answer must be a documented status — never a 500 — and every error a
// problem+json naming the field; memory stays bounded; afterwards the nodes still serve
// correct reads and writes and agree. A failure names its seed and request number.

import assert from "node:assert/strict";
import { Rng } from "../../test/rng.ts";
import { fuzzRequest, fuzzRound, type FuzzTarget } from "./http_fuzz.ts";
import { rawFuzzInput, rawRound } from "./raw_http_fuzz.ts";
import { serve, type Served, startCluster } from "./test_helpers.ts";

const SEEDS = [4001, 4002, 4003, 4004, 4005];
const REQUESTS_PER_SEED = 300;
const RAW_INPUTS_PER_SEED = 40;
const CONCURRENCY = 8;
const MAX_VALUE_BYTES = 4096;
const FAILURES_SHOWN = 10;
const HEAP_GROWTH_MAX_MIB = 64;

Deno.test("HTTP fuzz: documented answers only, bounded memory, the nodes serve afterwards", async () => {
  const cluster = await startCluster({
    ids: ["a", "b", "c"],
    maxValueBytes: MAX_VALUE_BYTES,
    requestTimeoutMs: 1000,
    metrics: true,
  });
  const servers: Served[] = cluster.nodes.map((n) => serve(n.app));
  const http = Deno.createHttpClient({});
  const target: FuzzTarget = {
    keys: ["k0", "k1", "k2", "dir/a", "dir/b", "é", "sp ace"],
    members: ["a", "b", "c"],
    maxValueBytes: MAX_VALUE_BYTES,
  };
  const failures: string[] = [];
  try {
    let heapAfterFirst: number | undefined;
    let sentBytes = 0;
    let bytesAfterFirst = 0;
    const statuses = new Map<number, number>();
    for (const seed of SEEDS) {
      const rng = new Rng(seed);
      const requests = Array.from({ length: REQUESTS_PER_SEED }, (_, i) => {
        const req = fuzzRequest(rng, target);
        const node = rng.int(0, servers.length - 1);
        sentBytes += req.body?.byteLength ?? 0;
        const where = `seed ${seed} request ${i} to ${cluster.nodes[node].replica.id}`;
        return { req, baseUrl: servers[node].url, where };
      });
      failures.push(...await fuzzRound(requests, http, CONCURRENCY, statuses));
      const raw = rng.fork();
      const inputs = Array.from({ length: RAW_INPUTS_PER_SEED }, () => rawFuzzInput(raw, target));
      const urls = servers.map((s) => new URL(s.url));
      failures.push(...await rawRound(inputs, urls, CONCURRENCY, `seed ${seed}`));
      const ws = rng.fork();
      await Promise.all(servers.map(async (server) => {
        const query = `prefix=${encodeURIComponent(ws.pick(target.keys).slice(0, 2))}` +
          (ws.chance(0.5) ? `&fromRevision=${ws.int(0, 50)}` : "");
        const wrong = await webSocketWatch(`${server.url}/v1/watch?${query}`, ws.int(0, 5));
        if (wrong !== null) failures.push(`seed ${seed} WebSocket ${query}\n  -> ${wrong}`);
      }));
      // The first seed warms everything up (code, the key space, the log); after it the heap
      // must not keep growing with the number of requests.
      heapAfterFirst ??= heapUsed();
      if (seed !== SEEDS[0]) bytesAfterFirst += sentBytes;
      sentBytes = 0;
    }
    assert.deepEqual(failures.slice(0, FAILURES_SHOWN), [], `${failures.length} failures`);
    const growthMiB = (heapUsed() - (heapAfterFirst ?? 0)) / 2 ** 20;
    console.log(
      `${SEEDS.length * REQUESTS_PER_SEED} fuzz requests (statuses ${
        JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))
      }), ${SEEDS.length * RAW_INPUTS_PER_SEED} raw inputs, ${
        (bytesAfterFirst / 2 ** 20).toFixed(0)
      } MiB of bodies after the first seed, heap growth ${growthMiB.toFixed(1)} MiB`,
    );
    // Garbage not yet collected counts too (without --v8-flags=--expose-gc, where it measures
    // under 2 MiB here): a loose bound. kv_routes_test.ts checks the body limits exactly.
    assert.ok(
      growthMiB < HEAP_GROWTH_MAX_MIB,
      `memory bounded (heap grew ${growthMiB.toFixed(1)} MiB)`,
    );
    // The fuzz did reach the handlers: successes and refusals of several kinds.
    for (const status of [200, 400, 404, 413]) {
      assert.ok((statuses.get(status) ?? 0) > 0, `no ${status} among the answers`);
    }

    // Every watch stream the fuzz opened and dropped has been let go.
    for (const n of cluster.nodes) {
      await waitUntil(() => n.hub.subscriberCount === 0, `${n.replica.id}'s watches freed`);
    }
    // Each node still takes a write and serves it, linearizably, from every node.
    for (const [i, server] of servers.entries()) {
      const key = `after-fuzz-${i}`;
      const put = await fetch(`${server.url}/v1/kv/${key}`, { method: "PUT", body: `v${i}` });
      const text = await put.text();
      assert.equal(put.status, 200, text);
      const { revision } = JSON.parse(text) as { revision: number };
      for (const reader of servers) {
        const got = await fetch(`${reader.url}/v1/kv/${key}`);
        assert.equal(await got.text(), `v${i}`);
        assert.equal(got.headers.get("etag"), `"${revision}"`);
      }
    }
    // And the replicas agree on the whole state.
    const leader = await cluster.leader();
    await waitUntil(
      () => cluster.nodes.every((n) => n.replica.sm.appliedIndex >= leader.replica.sm.appliedIndex),
      "every replica caught up",
    );
    const images = cluster.nodes.map((n) => JSON.stringify(n.replica.sm.range({}, 0).items));
    assert.equal(new Set(images).size, 1, "the replicas' key spaces differ");
  } finally {
    http.close();
    for (const s of servers) await s.close();
    await cluster.close();
  }
});

/** The heap in use, after a full collection when the runtime allows one (--expose-gc). */
function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

async function waitUntil(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A WebSocket watch that sends `garbage` junk messages (the server ignores them) and leaves
 * after 200 ms. Every message must be an event object or the closing error; null if so. */
function webSocketWatch(url: string, garbage: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"));
    let wrong: string | null = null;
    const timer = setTimeout(() => socket.close(), 200);
    socket.onopen = () => {
      for (let i = 0; i < garbage; i++) socket.send(i % 2 ? "\u0000garbage" : new Uint8Array(i));
    };
    socket.onmessage = (e) => {
      try {
        const data = JSON.parse(String(e.data)) as { type?: unknown; revision?: unknown };
        const event = ["put", "delete", "expire"].includes(String(data.type)) &&
          typeof data.revision === "number";
        if (!event && data.type !== "error") wrong = `odd message ${e.data}`;
      } catch {
        wrong = `a message that is not JSON: ${e.data}`;
      }
    };
    // A refused handshake (400 or 410) ends here too: that is an answer, not a failure.
    socket.onclose = () => {
      clearTimeout(timer);
      resolve(wrong);
    };
  });
}
