import assert from "node:assert/strict";
import { main } from "./mod.ts";
import { closedPortUrl, startFakeServer, type WatchEvent } from "./fake_server.ts";
import { memoryIo } from "./test_helpers.ts";
import { WATCH_ATTEMPTS_MAX } from "./watch.ts";

const EVENTS: WatchEvent[] = [
  { type: "put", key: "app/a", value: "1", revision: 5, version: 1 },
  { type: "put", key: "app/b", valueBase64: "/wA=", revision: 6, version: 1 },
  { type: "put", key: "other", value: "x", revision: 7, version: 1 },
  { type: "delete", key: "app/a", revision: 8 },
  { type: "expire", key: "app/b", revision: 9 },
];

/** Runs `watch` until `lines` lines are out, then presses Ctrl-C. */
async function watchLines(url: string, args: string[], lines: number) {
  const m = memoryIo({
    onOut: (text) => {
      if (text.split("\n").length > lines) m.interrupt();
    },
  });
  const code = await main(["watch", ...args, "--endpoint", url], m.io);
  return { code, out: m.out(), err: m.err(), sleeps: m.sleeps };
}

Deno.test("watch prints one line per event and resumes with Last-Event-ID after a drop", async () => {
  const server = startFakeServer({ watchEvents: EVENTS, watchDropAfter: 2 });
  try {
    const r = await watchLines(server.url, ["app/"], 4);
    assert.equal(r.code, 0, "Ctrl-C ends watch cleanly");
    assert.equal(
      r.out,
      "5 put app/a 1\n6 put app/b base64:/wA=\n8 delete app/a\n9 expire app/b\n",
    );
    const watches = server.requests.filter((q) => q.url.pathname === "/v1/watch");
    assert.equal(watches.length, 2);
    assert.equal(watches[0].headers.get("last-event-id"), null);
    assert.equal(watches[1].headers.get("last-event-id"), "6");
    assert.equal(watches[1].url.searchParams.get("prefix"), "app/");
    assert.deepEqual(r.sleeps, [], "a stream that delivered events is resumed at once");
  } finally {
    await server.close();
  }
});

Deno.test("watch --from-revision is sent on the first connection", async () => {
  const server = startFakeServer({ watchEvents: EVENTS });
  try {
    const r = await watchLines(server.url, ["--from-revision", "7"], 3);
    assert.equal(r.out, "7 put other x\n8 delete app/a\n9 expire app/b\n");
    assert.equal(server.requests[0].url.searchParams.get("fromRevision"), "7");
  } finally {
    await server.close();
  }
});

Deno.test("watch backs off while no endpoint answers, then gives up with exit 3", async () => {
  const m = memoryIo();
  const code = await main(["watch", "--endpoint", closedPortUrl()], m.io);
  assert.equal(code, 3);
  assert.equal(m.sleeps.length, WATCH_ATTEMPTS_MAX - 1);
  assert.deepEqual(m.sleeps.slice(0, 6), [100, 200, 400, 800, 1600, 2000]);
  const lines = m.err().trimEnd().split("\n");
  assert.equal(lines.length, 2, "the first failure and the last are reported, not every one");
  assert.match(lines[0], /^kv: watch: cannot reach any endpoint .*; retrying$/);
  assert.match(lines[1], /^kv: watch: giving up after 20 failed attempts \(cannot reach/);
});

Deno.test("watch: a refusal such as 400 is final (exit 1 with its detail)", async () => {
  const server = startFakeServer({
    override: () => Response.json({ detail: "fromRevision: compacted" }, { status: 400 }),
  });
  try {
    const m = memoryIo();
    assert.equal(await main(["watch", "--endpoint", server.url], m.io), 1);
    assert.equal(m.err(), "kv: fromRevision: compacted\n");
  } finally {
    await server.close();
  }
});

Deno.test("watch: events replayed by a server that ignores Last-Event-ID are not printed twice", async () => {
  const replay = [EVENTS[0], EVENTS[1]].map((e) =>
    `id: ${e.revision}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`
  ).join("");
  const server = startFakeServer({ override: () => new Response(replay) });
  try {
    const m = memoryIo();
    assert.equal(await main(["watch", "--endpoint", server.url], m.io), 3);
    assert.equal(m.out(), "5 put app/a 1\n6 put app/b base64:/wA=\n");
    assert.equal(server.requests.length, WATCH_ATTEMPTS_MAX + 1);
    assert.equal(server.requests[1].headers.get("last-event-id"), "6");
  } finally {
    await server.close();
  }
});

Deno.test("watch: writes of one transaction share a revision and are all printed", async () => {
  const txn: WatchEvent[] = [
    { type: "put", key: "a", value: "1", revision: 4, version: 1 },
    { type: "put", key: "b", value: "2", revision: 4, version: 1 },
    { type: "delete", key: "c", revision: 4 },
  ];
  const server = startFakeServer({ watchEvents: txn });
  try {
    const r = await watchLines(server.url, [], 3);
    assert.equal(r.out, "4 put a 1\n4 put b 2\n4 delete c\n");
  } finally {
    await server.close();
  }
});
