import assert from "node:assert/strict";
import {
  del,
  encoder,
  json,
  type Node,
  put,
  serve,
  single,
  SseClient,
  watchData,
} from "./test_helpers.ts";

async function txnPuts(n: Node, ...keys: string[]): Promise<number> {
  const o = await n.replica.write({
    type: "txn",
    compare: [],
    success: keys.map((key) => ({ type: "put" as const, key, value: encoder.encode(`t:${key}`) })),
    failure: [],
  });
  assert.ok(o.type === "applied" && o.result.type === "txn");
  return o.result.revision;
}

Deno.test("GET /v1/watch (SSE): history from fromRevision, then live events, every kind", async () => {
  let nowMs = 1_700_000_000_000;
  const n = await single({ now: () => nowMs });
  const server = serve(n.app);
  let sse: SseClient | null = null;
  try {
    const a = await put(n, "w/a", "1");
    await put(n, "other", "x");
    const b = await put(n, "w/b", new Uint8Array([0xff]));
    sse = await SseClient.open(`${server.url}/v1/watch?prefix=w/&fromRevision=${a.revision}`);
    assert.equal(sse.response.headers.get("content-type"), "text/event-stream");
    const history = await sse.take(2);
    assert.deepEqual(history.map((e) => [e.id, e.event]), [
      [String(a.revision), "put"],
      [String(b.revision), "put"],
    ]);
    assert.deepEqual(watchData(history).map((e) => e.data), [
      { type: "put", key: "w/a", value: "1", revision: a.revision, version: 1 },
      { type: "put", key: "w/b", valueBase64: "/w==", revision: b.revision, version: 1 },
    ]);
    // Live: a delete, and an expiry reaped by a later write in the same entry as its put.
    await del(n, "w/a");
    await put(n, "w/t", "ttl", 1000);
    nowMs += 1000;
    const rewrite = await put(n, "w/t", "again");
    const live = watchData(await sse.take(4));
    const rev = rewrite.revision;
    assert.deepEqual(live.map((e) => [e.id, e.data.type, e.data.key, e.data.version]), [
      [String(rev - 2), "delete", "w/a", 0],
      [String(rev - 1), "put", "w/t", 1],
      [`${rev}.0`, "expire", "w/t", 0],
      [String(rev), "put", "w/t", 1],
    ]);
    assert.deepEqual(live[0].data, { type: "delete", key: "w/a", revision: rev - 2, version: 0 });
  } finally {
    await sse?.close();
    await n.close();
    await server.close();
  }
});

Deno.test("GET /v1/watch (SSE): resuming with Last-Event-ID, even inside a txn, has no gap and no duplicate", async () => {
  const n = await single();
  const server = serve(n.app);
  const clients: SseClient[] = [];
  const open = async (headers: Record<string, string> = {}, query = "fromRevision=1") => {
    const c = await SseClient.open(`${server.url}/v1/watch?${query}`, headers);
    clients.push(c);
    return c;
  };
  try {
    await put(n, "a", "1");
    await txnPuts(n, "x", "y", "z");
    await put(n, "b", "2");
    await txnPuts(n, "p", "q");
    const all = await (await open()).take(7);
    const ids = all.map((e) => e.id);
    assert.deepEqual(ids.map((id) => id?.replace(/^\d+/, "R")), [
      "R",
      "R.0",
      "R.1",
      "R",
      "R",
      "R.0",
      "R",
    ]);
    for (let i = 0; i < all.length - 1; i++) {
      // A reconnect after event i (the browser repeats the URL, fromRevision included).
      const resumed = await open({ "last-event-id": String(all[i].id) });
      const rest = await resumed.take(all.length - 1 - i);
      assert.deepEqual(
        rest.map((e) => e.data),
        all.slice(i + 1).map((e) => e.data),
        `after ${all[i].id}`,
      );
    }
    // Caught up: the next event is a new one, not a repeat.
    const last = await open({ "last-event-id": String(all[6].id) });
    const c = await put(n, "c", "3");
    assert.equal((await last.next()).id, String(c.revision));
    // ?lastEventId= works for clients that cannot set headers; the header wins over both.
    const viaQuery = await open({}, `lastEventId=${all[5].id}`);
    assert.equal((await viaQuery.next()).id, all[6].id);
    // Without fromRevision or Last-Event-ID: live only.
    const liveOnly = await open({}, "");
    assert.equal(liveOnly.response.headers.get("x-kv-revision"), String(c.revision));
    const d = await put(n, "d", "4");
    assert.equal((await liveOnly.next()).id, String(d.revision));
  } finally {
    for (const c of clients) await c.close();
    await n.close();
    await server.close();
  }
});

Deno.test("GET /v1/watch: a start older than the history is 410 with the oldest revision; bad input 400", async () => {
  const n = await single({ hub: { historyEventsMax: 3 } });
  try {
    for (let i = 0; i < 6; i++) await put(n, `k${i}`, "v");
    const oldest = n.hub.oldestRevision;
    const res = await n.app.request("/v1/watch?fromRevision=1");
    assert.equal(res.status, 410);
    const body = await json(res);
    assert.equal(body.type, "https://raftkv.dev/problems/gone");
    assert.equal(body.oldestRevision, oldest);
    assert.equal(body.currentRevision, n.replica.sm.revision);
    assert.match(String(body.detail), /^fromRevision: /);
    const resumed = await n.app.request("/v1/watch", { headers: { "last-event-id": "1" } });
    assert.equal(resumed.status, 410);
    assert.match(String((await json(resumed)).detail), /^Last-Event-ID: /);
    for (
      const [query, headers, detail] of [
        ["fromRevision=x", {}, /^fromRevision: /],
        ["fromRevision=-1", {}, /^fromRevision: /],
        ["", { "last-event-id": "abc" }, /^Last-Event-ID: /],
        [`prefix=${"p".repeat(1025)}`, {}, /^prefix: /],
      ] as const
    ) {
      const bad = await n.app.request(`/v1/watch?${query}`, { headers });
      assert.equal(bad.status, 400, query);
      assert.match(String((await json(bad)).detail), detail);
    }
  } finally {
    await n.close();
  }
});

Deno.test("GET /v1/watch (SSE): a watch that loses its history gets an error event, then the end", async () => {
  const n = await single();
  const server = serve(n.app);
  let sse: SseClient | null = null;
  try {
    const a = await put(n, "a", "1");
    sse = await SseClient.open(`${server.url}/v1/watch?fromRevision=${a.revision}`);
    assert.equal((await sse.next()).id, String(a.revision));
    // As when a snapshot from the leader replaces the state.
    n.hub.restored(a.revision + 100);
    const [error, ...rest] = await sse.ended();
    assert.equal(error.event, "error");
    assert.deepEqual(rest, []);
    const data = JSON.parse(error.data);
    assert.equal(data.status, 410);
    assert.equal(data.reason, "restored");
    assert.equal(data.oldestRevision, a.revision + 101);
    assert.equal(n.hub.subscriberCount, 0);
  } finally {
    await sse?.close();
    await n.close();
    await server.close();
  }
});

Deno.test("GET /v1/watch (SSE): a client that stops reading is cut off, memory stays bounded", async () => {
  const n = await single({ hub: { historyEventsMax: 20 } });
  const server = serve(n.app);
  let sse: SseClient | null = null;
  try {
    sse = await SseClient.open(`${server.url}/v1/watch?prefix=big/`);
    const value = new Uint8Array(256 * 1024).fill(0x61);
    // The client reads nothing: the server's writes wait once the socket buffers are full,
    // the watch falls out of the 20-event window and is ended.
    const deadline = Date.now() + 10_000;
    let writes = 0;
    while (n.hub.subscriberCount > 0 && Date.now() < deadline) {
      await put(n, `big/${writes++ % 5}`, value);
    }
    assert.equal(n.hub.subscriberCount, 0, `still subscribed after ${writes} writes`);
    // Reading now: the events that made it out, then the error, then the end.
    const rest = await sse.ended(5000);
    const error = rest[rest.length - 1];
    assert.equal(error.event, "error");
    assert.equal(JSON.parse(error.data).reason, "behind");
    assert.ok(rest.length - 1 < writes, `${rest.length - 1} of ${writes} events delivered`);
  } finally {
    await sse?.close();
    await n.close();
    await server.close();
  }
});

Deno.test("GET /v1/watch (WebSocket): each message is the event object; prefix filter; close on stop", async () => {
  const n = await single();
  const server = serve(n.app);
  try {
    const a = await put(n, "ws/a", "1");
    await put(n, "skip", "x");
    const ws = new WebSocket(
      `${server.url.replace("http", "ws")}/v1/watch?prefix=ws/&fromRevision=1`,
    );
    const messages: Record<string, unknown>[] = [];
    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    const arrived = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => messages.length >= count ? resolve() : setTimeout(check, 5);
        check();
      });
    ws.onmessage = (e) => messages.push(JSON.parse(e.data as string));
    await arrived(1);
    const rev = await txnPuts(n, "ws/x", "nope", "ws/y");
    await del(n, "ws/a");
    await arrived(4);
    assert.deepEqual(messages, [
      { type: "put", key: "ws/a", value: "1", revision: a.revision, version: 1 },
      { type: "put", key: "ws/x", value: "t:ws/x", revision: rev, version: 1 },
      { type: "put", key: "ws/y", value: "t:ws/y", revision: rev, version: 1 },
      { type: "delete", key: "ws/a", revision: rev + 1, version: 0 },
    ]);
    // The node stops watching (hub closed): a last error message, then close code 1001.
    n.hub.close();
    const event = await closed;
    assert.equal(event.code, 1001);
    const last = (messages as Record<string, unknown>[])[4];
    assert.equal(last.type, "error");
    assert.equal(last.status, 503);
  } finally {
    await n.close();
    await server.close();
  }
});

Deno.test("GET /v1/watch (WebSocket): a start too old is refused before the upgrade (410)", async () => {
  const n = await single({ hub: { historyEventsMax: 2 } });
  const server = serve(n.app);
  try {
    for (let i = 0; i < 4; i++) await put(n, `k${i}`, "v");
    const res = await fetch(`${server.url}/v1/watch?fromRevision=1`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    assert.equal(res.status, 410);
    assert.equal((await json(res)).oldestRevision, n.hub.oldestRevision);
  } finally {
    await n.close();
    await server.close();
  }
});

Deno.test("GET /v1/watch: closing the hub ends open SSE streams, so the server can shut down", async () => {
  const n = await single();
  const server = serve(n.app);
  const sse = await SseClient.open(`${server.url}/v1/watch`);
  try {
    n.detach();
    const [error] = await sse.ended();
    assert.equal(error.event, "error");
    assert.equal(JSON.parse(error.data).status, 503);
    const after = await n.app.request("/v1/watch");
    assert.equal(after.status, 503);
    await after.body?.cancel();
  } finally {
    await sse.close();
    await server.close();
    await n.close();
  }
});

Deno.test("GET /v1/watch: a client that goes away frees its subscription", async () => {
  const n = await single();
  const server = serve(n.app);
  try {
    const sse = await SseClient.open(`${server.url}/v1/watch`);
    const ws = new WebSocket(`${server.url.replace("http", "ws")}/v1/watch`);
    await new Promise((resolve) => ws.onopen = resolve);
    assert.equal(n.hub.subscriberCount, 2);
    await sse.close();
    const closed = new Promise((resolve) => ws.onclose = resolve);
    ws.close();
    await closed;
    // No writes needed: idle pumps hear of the disconnect by themselves.
    const deadline = Date.now() + 3000;
    while (n.hub.subscriberCount > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(n.hub.subscriberCount, 0);
  } finally {
    await n.close();
    await server.close();
  }
});
