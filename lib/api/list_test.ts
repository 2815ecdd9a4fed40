import assert from "node:assert/strict";
import { del, json, put, single } from "./test_helpers.ts";
import { LIST_LIMIT_DEFAULT } from "./list.ts";

type Page = {
  items: Record<string, unknown>[];
  next: string | null;
  revision: number;
};

async function list(app: { request: (p: string) => Response | Promise<Response> }, query: string) {
  const res = await app.request(`/v1/kv?${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return await res.json() as Page;
}

Deno.test("GET /v1/kv: items with values, text or base64, revision, version and expiry", async () => {
  let nowMs = 1_700_000_000_000;
  const n = await single({ now: () => nowMs });
  try {
    await put(n, "app/a", "alpha");
    const b = await put(n, "app/b", new Uint8Array([0xff, 0x00, 0x80]));
    const again = await put(n, "app/a", "alpha2");
    await put(n, "app/c", "ttl", 60_000);
    await put(n, "other", "x");
    await put(n, "app/empty", "");
    const page = await list(n.app, "prefix=app/");
    assert.equal(page.revision, n.replica.sm.revision);
    assert.equal(page.next, null);
    assert.deepEqual(page.items, [
      { key: "app/a", value: "alpha2", revision: again.revision, version: 2, expiresAt: null },
      { key: "app/b", valueBase64: "/wCA", revision: b.revision, version: 1, expiresAt: null },
      {
        key: "app/c",
        value: "ttl",
        revision: b.revision + 2,
        version: 1,
        expiresAt: new Date(nowMs + 60_000).toISOString(),
      },
      { key: "app/empty", value: "", revision: b.revision + 4, version: 1, expiresAt: null },
    ]);
    // Expired keys are gone from listings at once (before any sweep).
    nowMs += 60_000;
    const later = await list(n.app, "prefix=app/&keysOnly=true");
    assert.deepEqual(later.items.map((it) => it.key), ["app/a", "app/b", "app/empty"]);
    assert.ok(!("value" in later.items[0]) && !("valueBase64" in later.items[1]), "keysOnly");
    // A BOM and non-ASCII text stay text, byte for byte.
    await put(n, "t", "\uFEFFé✓");
    assert.equal((await list(n.app, "prefix=t")).items[0].value, "\uFEFFé✓");
  } finally {
    await n.close();
  }
});

Deno.test("GET /v1/kv: pages with limit and after cover every key once, in UTF-8 order", async () => {
  const n = await single();
  try {
    const keys = ["k/é", "k/a", "k/\u{10000}", "k/\uffff", "k/b", "k/a/1"];
    for (const k of keys) await put(n, k, k);
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const q = new URLSearchParams({ prefix: "k/", limit: "2" });
      if (after !== null) q.set("after", after);
      const page = await list(n.app, q.toString());
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((it) => String(it.key)));
      after = page.next;
      pages++;
    } while (after !== null);
    assert.deepEqual(seen, ["k/a", "k/a/1", "k/b", "k/é", "k/\uffff", "k/\u{10000}"]);
    assert.equal(pages, 3);
    // Default page size.
    for (let i = 0; i < LIST_LIMIT_DEFAULT + 5; i++) await put(n, `many/${1000 + i}`, "v");
    const first = await list(n.app, "prefix=many/");
    assert.equal(first.items.length, LIST_LIMIT_DEFAULT);
    assert.equal(first.next, `many/${1000 + LIST_LIMIT_DEFAULT - 1}`);
    const rest = await list(n.app, `prefix=many/&after=${first.next}`);
    assert.equal(rest.items.length, 5);
    assert.equal(rest.next, null);
    // Serializable reads and minRevision are accepted too.
    const s = await list(n.app, `prefix=k/&consistency=serializable&minRevision=2`);
    assert.equal(s.items.length, 6);
  } finally {
    await n.close();
  }
});

Deno.test("GET /v1/kv: a page pinned to the first page's revision, or 410 when it changed", async () => {
  const n = await single({ hub: { historyEventsMax: 20 } });
  try {
    for (const k of ["p/1", "p/2", "p/3", "p/4"]) await put(n, k, "v");
    const first = await list(n.app, "prefix=p/&limit=2");
    const r = first.revision;
    // Changes outside the part still to list do not matter: another prefix, or earlier keys.
    await put(n, "q/1", "v");
    await put(n, "p/1", "changed");
    const second = await list(n.app, `prefix=p/&limit=2&after=${first.next}&revision=${r}`);
    assert.deepEqual(second.items.map((it) => it.key), ["p/3", "p/4"]);
    assert.equal(second.revision, r, "the page reports the pinned revision");
    // A change in the rest of the range: this page would differ from the listing at r.
    await del(n, "p/4");
    const res = await n.app.request(`/v1/kv?prefix=p/&after=${first.next}&revision=${r}`);
    assert.equal(res.status, 410);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    const body = await json(res);
    assert.equal(body.type, "https://raftkv.dev/problems/gone");
    assert.equal(body.title, "Gone");
    assert.equal(body.changedKey, "p/4");
    assert.equal(body.changedRevision, n.replica.sm.revision);
    assert.match(String(body.detail), /^revision: the listing at revision \d+ is no longer/);
    // Older than the hub's history: cannot tell, so 410 too.
    for (let i = 0; i < 25; i++) await put(n, `z/${i}`, "v");
    const old = await n.app.request(`/v1/kv?prefix=p/&revision=${r}`);
    assert.equal(old.status, 410);
    assert.equal((await json(old)).oldestRevision, n.hub.oldestRevision);
    // A revision no node has reached yet is made up.
    const ahead = await n.app.request(`/v1/kv?revision=${n.replica.sm.appliedIndex + 10}`);
    assert.equal(ahead.status, 400);
    assert.match(String((await json(ahead)).detail), /^revision: /);
  } finally {
    await n.close();
  }
});

Deno.test("GET /v1/kv: every bad query value is a 400 naming the field", async () => {
  const n = await single();
  try {
    const cases: [string, RegExp][] = [
      ["limit=0", /^limit: must be at least 1/],
      ["limit=1001", /^limit: must be at most 1000/],
      ["limit=ten", /^limit: expected a non-negative integer/],
      ["limit=-1", /^limit: /],
      ["keysOnly=maybe", /^keysOnly: /],
      ["consistency=eventual", /^consistency: /],
      ["after=", /^after: key is empty/],
      [`prefix=${"x".repeat(1025)}`, /^prefix: key of 1025 bytes exceeds 1024/],
      ["revision=0", /^revision: must be at least 1/],
      ["revision=abc", /^revision: /],
      ["minRevision=x", /^minRevision: /],
    ];
    for (const [query, detail] of cases) {
      const res = await n.app.request(`/v1/kv?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.match(String((await json(res)).detail), detail, query);
    }
    // The single-key routes are untouched by the listing route.
    await put(n, "kv", "single");
    const one = await n.app.request("/v1/kv/kv");
    assert.equal(await one.text(), "single");
    assert.equal((await n.app.request("/v1/kv/")).status, 400);
  } finally {
    await n.close();
  }
});
