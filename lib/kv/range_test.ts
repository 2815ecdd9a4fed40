import assert from "node:assert/strict";
import { Driver } from "./test_helpers.ts";

function keysOf(items: { key: string }[]): string[] {
  return items.map((item) => item.key);
}

function loaded(): Driver {
  const d = new Driver();
  // Inserted out of order; "\uffff" sorts before "\u{10000}" in UTF-8 (not in UTF-16).
  for (const key of ["b/2", "a", "b/1", "\u{10000}", "b/10", "\uffff", "b", "c", "b0", "é"]) {
    d.put(key, `v:${key}`);
  }
  return d;
}

Deno.test("range: everything, sorted by UTF-8 bytes", () => {
  const d = loaded();
  const result = d.machine.range({}, d.timeMs);
  assert.deepEqual(keysOf(result.items), [
    "a",
    "b",
    "b/1",
    "b/10",
    "b/2",
    "b0",
    "c",
    "é",
    "\uffff",
    "\u{10000}",
  ]);
  assert.equal(result.next, null);
  assert.equal(result.revision, 10);
  assert.equal(result.items[0].version, 1);
  assert.deepEqual(result.items[0].value, new TextEncoder().encode("v:a"));
});

Deno.test("range: prefix, after and limit page through without gaps", () => {
  const d = loaded();
  const m = d.machine;
  assert.deepEqual(keysOf(m.range({ prefix: "b/" }, d.timeMs).items), ["b/1", "b/10", "b/2"]);
  const page1 = m.range({ prefix: "b", limit: 2 }, d.timeMs);
  assert.deepEqual(keysOf(page1.items), ["b", "b/1"]);
  assert.equal(page1.next, "b/1");
  const page2 = m.range({ prefix: "b", limit: 2, after: page1.next ?? "" }, d.timeMs);
  assert.deepEqual(keysOf(page2.items), ["b/10", "b/2"]);
  const page3 = m.range({ prefix: "b", limit: 2, after: page2.next ?? "" }, d.timeMs);
  assert.deepEqual(keysOf(page3.items), ["b0"]);
  assert.equal(page3.next, null);
  // An exact fit has no next page.
  assert.equal(m.range({ prefix: "b/", limit: 3 }, d.timeMs).next, null);
  // `after` before the prefix is ignored; after past it gives nothing.
  assert.deepEqual(keysOf(m.range({ prefix: "b/", after: "a" }, d.timeMs).items).length, 3);
  assert.deepEqual(m.range({ prefix: "b/", after: "b/9" }, d.timeMs).items, []);
  assert.deepEqual(m.range({ prefix: "zz" }, d.timeMs).items, []);
  assert.deepEqual(keysOf(m.range({ after: "é" }, d.timeMs).items), ["\uffff", "\u{10000}"]);
});

Deno.test("range: keysOnly leaves values out", () => {
  const d = loaded();
  const items = d.machine.range({ prefix: "c", keysOnly: true }, d.timeMs).items;
  assert.deepEqual(items, [
    { key: "c", value: null, createRevision: 8, modRevision: 8, version: 1, expiresAt: null },
  ]);
});

Deno.test("range: expired keys are skipped, also when deciding `next`", () => {
  const d = new Driver();
  d.put("a", "v");
  d.put("b", "v", { ttlMs: 10 });
  d.put("c", "v", { ttlMs: 10 });
  d.put("d", "v");
  const later = d.timeMs + 10;
  assert.deepEqual(keysOf(d.machine.range({}, later).items), ["a", "d"]);
  const page = d.machine.range({ limit: 1 }, later);
  assert.deepEqual(keysOf(page.items), ["a"]);
  assert.equal(page.next, "a");
  const last = d.machine.range({ limit: 1, after: "a" }, later);
  assert.deepEqual(keysOf(last.items), ["d"]);
  assert.equal(last.next, null);
  assert.deepEqual(keysOf(d.machine.range({ after: "a", limit: 1 }, d.timeMs).items), ["b"]);
});

Deno.test("range: limit is clamped to [1, rangeLimitMax]", () => {
  const d = new Driver({ rangeLimitMax: 3 });
  for (let i = 0; i < 5; i++) d.put(`k${i}`, "v");
  assert.equal(d.machine.range({}, d.timeMs).items.length, 3);
  assert.equal(d.machine.range({ limit: 100 }, d.timeMs).items.length, 3);
  assert.equal(d.machine.range({ limit: 0 }, d.timeMs).items.length, 1);
  assert.equal(d.machine.range({ limit: NaN }, d.timeMs).items.length, 3);
  assert.equal(d.machine.range({ limit: 2 }, d.timeMs).next, "k1");
});
