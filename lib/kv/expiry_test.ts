import assert from "node:assert/strict";
import { Driver, seededRandom } from "./test_helpers.ts";

Deno.test("expiry: a key is hidden from the moment expiresAt <= now", () => {
  const d = new Driver();
  const t = d.timeMs;
  d.put("k", "v", { ttlMs: 1000 });
  const m = d.machine;
  assert.equal(m.get("k", t + 999)?.expiresAt, t + 1000);
  assert.equal(m.get("k", t + 1000), null);
  assert.deepEqual(m.range({}, t + 1000).items, []);
  assert.equal(m.size, 1, "hidden, not yet removed");
  assert.equal(m.nextExpiresAt(), t + 1000);
  // A reader whose view of leader time lags the applied entries still sees the key expired.
  d.advance(5000);
  d.put("other", "x");
  assert.equal(m.get("k", t), null);
});

Deno.test("expiry: two replicas agree at every index whatever times they are read at", () => {
  const a = new Driver();
  const b = new Driver();
  const random = seededRandom(42);
  const readA = seededRandom(1);
  const readB = seededRandom(2);
  for (let i = 0; i < 400; i++) {
    const key = `k${Math.floor(random() * 8)}`;
    const roll = random();
    const ttlMs = random() < 0.7 ? 1 + Math.floor(random() * 300) : undefined;
    for (const d of [a, b]) {
      d.timeMs = 1_700_000_000_000 + i * 10; // same leader stamps on both
      if (roll < 0.6) d.put(key, `v${i}`, { ttlMs });
      else if (roll < 0.75) d.del(key);
      else if (roll < 0.85) d.put(key, `c${i}`, { ifVersion: 1 + Math.floor(roll * 3) });
      else if (roll < 0.95) d.sweep();
      else d.noop();
    }
    // Reads at arbitrary times (even far ahead) must not change state.
    a.machine.range({}, a.timeMs + Math.floor(readA() * 1000));
    b.machine.get(key, b.timeMs - Math.floor(readB() * 1000));
    b.machine.range({ prefix: "k" }, b.timeMs + 10_000);
    assert.deepEqual(a.machine.snapshot(), b.machine.snapshot(), `diverged at index ${i + 1}`);
    // At the entry's own time both see the same live keys.
    assert.deepEqual(a.machine.range({}, a.timeMs), b.machine.range({}, b.timeMs));
  }
});

Deno.test("expiry: a write to an expired key reaps it first (expire event, then put)", () => {
  const d = new Driver();
  d.put("k", "old", { ttlMs: 100 });
  d.put("k", "old2", { ttlMs: 100 }); // version 2
  d.advance(100);
  const applied = d.put("k", "new");
  assert.deepEqual(applied.events.map((e) => [e.type, e.revision, e.version]), [
    ["expire", 3, 0],
    ["put", 3, 1],
  ]);
  assert.deepEqual(applied.result, { type: "put", revision: 3, version: 1 });
  const kv = d.machine.get("k", d.timeMs);
  assert.equal(kv?.createRevision, 3);
  assert.equal(kv?.expiresAt, null, "a put without a TTL clears the old one");
});

Deno.test("expiry: an expired key is absent to create-only, CAS and delete", () => {
  const d = new Driver();
  for (const key of ["a", "b", "c"]) d.put(key, "v", { ttlMs: 10 });
  d.advance(10);
  const create = d.put("a", "new", { ifAbsent: true });
  assert.equal(create.result.type, "put");
  assert.deepEqual(create.events.map((e) => e.type), ["expire", "put"]);
  const cas = d.put("b", "new", { ifRevision: 2 });
  assert.deepEqual(cas.result, { type: "failed", reason: "revision", current: null });
  assert.deepEqual(cas.events.map((e) => e.type), ["expire"], "touching reaps even on failure");
  const del = d.del("c");
  assert.deepEqual(del.result, { type: "notFound" });
  assert.deepEqual(del.events, [{ type: "expire", key: "c", revision: 6, version: 0 }]);
  assert.equal(d.machine.revision, 6);
  assert.equal(d.machine.size, 1);
});

Deno.test("sweep: removes every expired key, earliest first, at one revision", () => {
  const d = new Driver();
  d.put("z", "v", { ttlMs: 10 });
  d.put("a", "v", { ttlMs: 20 });
  d.put("m", "v", { ttlMs: 10 });
  d.put("keep", "v", { ttlMs: 1000 });
  d.put("forever", "v");
  d.advance(20);
  const applied = d.sweep();
  assert.deepEqual(applied.result, { type: "sweep", expired: 3, more: false, revision: 6 });
  assert.deepEqual(applied.events.map((e) => [e.type, e.key, e.revision]), [
    ["expire", "m", 6],
    ["expire", "z", 6],
    ["expire", "a", 6],
  ]);
  assert.equal(d.machine.size, 2);
  assert.equal(d.machine.nextExpiresAt(), d.timeMs - 20 + 1000);
  // Nothing to do: no events, and the store's revision stays.
  const empty = d.sweep();
  assert.deepEqual(empty.result, { type: "sweep", expired: 0, more: false, revision: 6 });
  assert.equal(d.machine.revision, 6);
  assert.equal(d.machine.appliedIndex, 7);
});

Deno.test("sweep: a cap per entry, with `more` telling the leader to sweep again", () => {
  const d = new Driver({ sweepKeysMax: 2 });
  for (const key of ["a", "b", "c", "d", "e"]) d.put(key, "v", { ttlMs: 1 });
  d.advance(1);
  assert.deepEqual(d.sweep().result, { type: "sweep", expired: 2, more: true, revision: 6 });
  assert.deepEqual(d.sweep().result, { type: "sweep", expired: 2, more: true, revision: 7 });
  assert.deepEqual(d.sweep().result, { type: "sweep", expired: 1, more: false, revision: 8 });
  assert.equal(d.machine.size, 0);
  assert.equal(d.machine.nextExpiresAt(), null);
});

Deno.test("expiry: leader time never runs backwards inside the state machine", () => {
  const d = new Driver();
  const t = d.timeMs;
  d.put("k", "v", { ttlMs: 100 });
  d.advance(200);
  d.put("x", "1");
  assert.equal(d.machine.clockMs, t + 200);
  // A new leader with a slow clock stamps an earlier time: the key stays expired...
  d.timeMs = t;
  const touch = d.put("k", "again", { ifAbsent: true });
  assert.deepEqual(touch.events.map((e) => e.type), ["expire", "put"]);
  // ...and TTLs count from the state machine's clock, not the stale stamp.
  d.put("ttl", "v", { ttlMs: 50 });
  assert.equal(d.machine.get("ttl", 0)?.expiresAt, t + 250);
  assert.equal(d.machine.clockMs, t + 200);
});
