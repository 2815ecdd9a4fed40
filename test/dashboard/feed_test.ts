// The page's live feed in a real browser, against stand-in nodes: the real dashboard route
// and CORS middleware, a fixed /v1/status, and a /v1/watch that streams API.md §3 events
// and resumes after Last-Event-ID or from fromRevision, as the real one must.
// Needs /usr/bin/chromium (browser.ts).

import assert from "node:assert/strict";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { readCors, registerDashboard } from "../../lib/dashboard/mod.ts";
import { type Page, screenshot, withPage } from "./browser.ts";

interface WatchEvent {
  type: "put" | "delete" | "expire";
  key: string;
  value?: string;
  valueBase64?: string;
  revision: number;
  version: number;
}

const EVIL_KEY = `<img src=x onerror="document.title='owned'">`;

const EVENTS: WatchEvent[] = [
  { type: "put", key: "greeting", value: "hello", revision: 2, version: 1 },
  { type: "put", key: EVIL_KEY, value: "<b>not bold</b>", revision: 3, version: 1 },
  { type: "put", key: "bin", valueBase64: "AAEC", revision: 4, version: 1 },
  { type: "delete", key: "greeting", revision: 5, version: 0 },
  { type: "expire", key: "session", revision: 6, version: 0 },
];

/** One stand-in node on a free loopback port. `n2` leads; every node lists all `ids`. */
class StandIn {
  readonly url: string;
  private readonly server: Deno.HttpServer<Deno.NetAddr>;
  private stopping = false;

  constructor(
    readonly id: string,
    private readonly peers: () => StandIn[],
    /** The events this node's watch can serve (a node that dies has seen fewer). */
    private readonly events: WatchEvent[],
  ) {
    const app = this.app();
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    this.url = `http://127.0.0.1:${this.server.addr.port}`;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.server.shutdown();
  }

  private status() {
    const peers = this.peers();
    const leader = peers.find((p) => p.id === "n2") ?? peers[0];
    return {
      id: this.id,
      role: this.id === leader.id ? "leader" : "follower",
      term: 7,
      leader: { id: leader.id, client: leader.url },
      commitIndex: 6,
      appliedIndex: 6,
      lastLogIndex: 6,
      snapshotIndex: 0,
      members: peers.map((p) => ({
        id: p.id,
        client: p.url,
        peer: "ws://127.0.0.1:1",
        voter: true,
        matchIndex: this.id === leader.id ? 6 : null,
        connected: true,
        lastContactMs: 0,
      })),
    };
  }

  private app(): Hono {
    const app = new Hono();
    app.use("/v1/status", readCors());
    app.use("/v1/watch", readCors());
    registerDashboard(app);
    app.get("/v1/status", (c) => c.json(this.status()));
    app.get("/v1/watch", (c) => {
      const lastId = Number(c.req.header("last-event-id") ?? "0");
      const from = Number(c.req.query("fromRevision") ?? "0");
      const first = Math.max(lastId + 1, from);
      return streamSSE(c, async (stream) => {
        for (const e of this.events.filter((e) => e.revision >= first)) {
          await stream.writeSSE({ id: String(e.revision), event: e.type, data: JSON.stringify(e) });
        }
        // Open until the browser leaves or the node "dies".
        while (!stream.aborted && !stream.closed && !this.stopping) await stream.sleep(25);
      });
    });
    return app;
  }
}

async function withStandIns(
  events: Record<string, WatchEvent[]>,
  body: (nodes: Map<string, StandIn>) => Promise<void>,
): Promise<void> {
  const nodes = new Map<string, StandIn>();
  try {
    for (const [id, evs] of Object.entries(events)) {
      nodes.set(id, new StandIn(id, () => [...nodes.values()], evs));
    }
    await body(nodes);
  } finally {
    for (const n of nodes.values()) await n.close();
  }
}

function feedKeys(page: Page): Promise<(string | null)[]> {
  return page.locator("#feed tr").evaluateAll((rows) =>
    rows.map((r) => r.getAttribute("data-key"))
  );
}

Deno.test("dashboard: the live feed shows watch events, newest first, as plain text", async () => {
  await withStandIns({ n2: EVENTS }, async (nodes) => {
    await withPage(async (page) => {
      await page.goto(`${nodes.get("n2")!.url}/`);
      await page.waitForSelector(`#leader[data-leader="n2"]`);
      await page.waitForSelector(`#watch-state[data-state="live"]`);
      await page.waitForSelector(`#feed tr[data-key="session"]`);
      assert.deepEqual(await feedKeys(page), ["session", "greeting", "bin", EVIL_KEY, "greeting"]);
      assert.equal(await page.locator("#writes").textContent(), "5");
      const bin = page.locator(`#feed tr[data-key="bin"] td.value`);
      assert.equal(await bin.textContent(), "(3 bytes, binary)");
      // Keys and values are text, never markup.
      assert.equal(await page.locator("#feed img, #feed b").count(), 0);
      assert.notEqual(await page.title(), "owned");
      await screenshot(page, "feed");
    });
  });
});

Deno.test("dashboard: when the page's own node dies the feed resumes on another", async () => {
  // n1 served the page and streamed up to revision 3; n2 has everything.
  await withStandIns({ n1: EVENTS.slice(0, 2), n2: EVENTS }, async (nodes) => {
    await withPage(async (page) => {
      await page.goto(`${nodes.get("n1")!.url}/`);
      await page.waitForSelector(`#feed tr[data-key="${EVIL_KEY.replaceAll('"', '\\"')}"]`);
      await page.waitForSelector(`#watch-state[data-state="live"]`);
      await nodes.get("n1")!.close();
      await page.waitForSelector(`#members tr[data-id="n1"][data-role="unreachable"]`);
      // Picked up at revision 4 from n2: nothing missed, nothing twice.
      await page.waitForSelector(`#feed tr[data-key="session"]`, { timeout: 10_000 });
      assert.deepEqual(await feedKeys(page), ["session", "greeting", "bin", EVIL_KEY, "greeting"]);
      assert.equal(await page.locator("#watch-state").textContent(), "live from n2");
      assert.equal(await page.locator("#leader").getAttribute("data-leader"), "n2");
    });
  });
});

/**
 * A node whose watch history is short: any resume (Last-Event-ID or fromRevision) is 410.
 * Its first live stream sends two events, then the server's 410 error event; its second
 * sends one and breaks off (the browser then resumes with Last-Event-ID: refused, 410); the
 * third sends one more and stays open.
 */
class ForgetfulNode {
  readonly url: string;
  /** Requests answered 410: a page that retried resumes forever would pile these up. */
  gone = 0;
  live = 0;
  private readonly server: Deno.HttpServer<Deno.NetAddr>;
  private stopping = false;

  constructor() {
    const app = new Hono();
    registerDashboard(app);
    app.get("/v1/status", (c) => c.json(this.status()));
    app.get("/v1/watch", (c) => {
      if (c.req.header("last-event-id") !== undefined || c.req.query("fromRevision")) {
        this.gone++;
        return c.json(
          {
            type: "https://raftkv.dev/problems/gone",
            title: "Gone",
            status: 410,
            detail: "fromRevision: older than this node's change history",
            oldestRevision: 40,
          },
          410,
          { "content-type": "application/problem+json" },
        );
      }
      const stream = ++this.live;
      return streamSSE(c, async (s) => {
        const send = (e: WatchEvent) =>
          s.writeSSE({
            id: String(e.revision),
            event: e.type,
            data: JSON.stringify(e),
            retry: 100,
          });
        if (stream === 1) {
          await send({ type: "put", key: "a", value: "1", revision: 2, version: 1 });
          await send({ type: "put", key: "b", value: "2", revision: 3, version: 1 });
          await s.writeSSE({
            event: "error",
            data: JSON.stringify({
              type: "error",
              status: 410,
              reason: "behind",
              oldestRevision: 40,
            }),
          });
          return;
        }
        await send({
          type: "put",
          key: stream === 2 ? "c" : "d",
          value: "3",
          revision: 40 + stream,
          version: 1,
        });
        if (stream === 2) return; // breaks off: the browser resumes after 42
        while (!s.aborted && !s.closed && !this.stopping) await s.sleep(25);
      });
    });
    this.server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    this.url = `http://127.0.0.1:${this.server.addr.port}`;
  }

  private status() {
    return {
      id: "n1",
      role: "leader",
      term: 3,
      leader: { id: "n1", client: this.url },
      commitIndex: 43,
      appliedIndex: 43,
      lastLogIndex: 43,
      snapshotIndex: 0,
      members: [{
        id: "n1",
        client: this.url,
        peer: "ws://127.0.0.1:1",
        voter: true,
        matchIndex: 43,
        connected: true,
        lastContactMs: 0,
      }],
    };
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.server.shutdown();
  }
}

Deno.test("dashboard: when the watch history is gone (410) the feed restarts live and says so", async () => {
  const node = new ForgetfulNode();
  try {
    await withPage(async (page) => {
      await page.goto(`${node.url}/`);
      // The 410 error event, then a refused resume: each time the feed starts again live.
      await page.waitForSelector(`#feed tr[data-key="d"]`, { timeout: 15_000 });
      assert.deepEqual(await feedKeys(page), ["d", "c", "b", "a"]);
      await page.waitForSelector(`#watch-state[data-state="live"]`);
      const note = page.locator("#watch-note");
      assert.equal(await note.isVisible(), true);
      assert.match(
        await note.textContent() ?? "",
        /after revision 42 are not shown: n1 no longer keeps/,
      );
      // No endless resumes from a revision that is gone: one refused resume (and its probe).
      const goneBefore = node.gone;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.equal(node.gone, goneBefore, "the page keeps asking for history that is gone");
      assert.ok(node.gone <= 2, `${node.gone} requests answered 410`);
      assert.equal(node.live, 3);
    });
  } finally {
    await node.close();
  }
});
