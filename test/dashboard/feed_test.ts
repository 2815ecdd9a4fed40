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
