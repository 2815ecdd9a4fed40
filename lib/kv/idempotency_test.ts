import assert from "node:assert/strict";
import { IdempotencyTable } from "./idempotency.ts";
import { KvStateMachine } from "./state_machine.ts";
import { dec, Driver, enc } from "./test_helpers.ts";

Deno.test("idempotency: a retry returns the first result without applying again", () => {
  const d = new Driver();
  const first = d.put("k", "1", { idempotencyKey: "K1" });
  assert.deepEqual(first.result, { type: "put", revision: 1, version: 1 });
  d.put("k", "2"); // someone else writes in between
  const retry = d.put("k", "1", { idempotencyKey: "K1" });
  assert.equal(retry.replayed, true);
  assert.deepEqual(retry.result, first.result);
  assert.deepEqual(retry.events, []);
  assert.equal(retry.reqId, "r3", "the retry's own reqId, so its proposer is answered");
  assert.equal(dec(d.machine.get("k", d.timeMs)?.value ?? null), "2", "not applied twice");
  assert.equal(d.machine.get("k", d.timeMs)?.version, 2);
  assert.equal(d.machine.appliedIndex, 3);
  assert.equal(d.machine.revision, 2);
});

Deno.test("idempotency: failures, txns and invalid results are recorded too", () => {
  const d = new Driver({ valueBytesMax: 4 });
  d.put("k", "1");
  const failed = d.put("k", "x", { ifVersion: 9, idempotencyKey: "cas" });
  const txn = d.run({
    type: "txn",
    compare: [],
    success: [{ type: "get", key: "k" }, { type: "put", key: "t", value: enc("v") }],
    failure: [],
    idempotencyKey: "txn",
  });
  const invalid = d.put("k", "too long", { idempotencyKey: "big" });
  assert.equal(invalid.result.type, "invalid");
  d.put("k", "2");
  for (const [key, first] of [["cas", failed], ["txn", txn], ["big", invalid]] as const) {
    const retry = d.run({ type: "delete", key: "k", idempotencyKey: key });
    assert.equal(retry.replayed, true);
    assert.deepEqual(retry.result, first.result, key);
  }
  assert.ok(d.machine.get("k", d.timeMs) !== null, "the replayed deletes did nothing");
});

Deno.test("idempotency: entries expire by leader time", () => {
  const d = new Driver({ idempotencyTtlMs: 1000 });
  d.put("k", "1", { idempotencyKey: "K" });
  d.advance(999);
  assert.equal(d.put("k", "1", { idempotencyKey: "K" }).replayed, true);
  d.advance(1);
  const late = d.put("k", "1", { idempotencyKey: "K" });
  assert.equal(late.replayed, false);
  assert.deepEqual(late.result, { type: "put", revision: 3, version: 2 });
  // The fresh result is recorded in turn.
  assert.deepEqual(d.put("k", "1", { idempotencyKey: "K" }).result, late.result);
  // An unrelated entry later than the TTL empties the table.
  d.advance(1000);
  d.put("other", "x");
  assert.equal(d.machine.idempotencySize, 0);
});

Deno.test("idempotency: the table is bounded, evicting the oldest entry first", () => {
  const d = new Driver({ idempotencyEntriesMax: 3 });
  for (let i = 1; i <= 5; i++) d.put(`k${i}`, "v", { idempotencyKey: `K${i}` });
  assert.equal(d.machine.idempotencySize, 3);
  assert.equal(d.put("k1", "v", { idempotencyKey: "K1" }).replayed, false, "K1 was evicted");
  assert.equal(d.put("k5", "v", { idempotencyKey: "K5" }).replayed, true);
  assert.equal(d.put("k2", "v", { idempotencyKey: "K2" }).replayed, false, "K2 was evicted");
});

Deno.test("idempotency: bounded by bytes too; a result over the cap is not kept", () => {
  const table = new IdempotencyTable({
    idempotencyEntriesMax: 100,
    idempotencyBytesMax: 300,
    idempotencyTtlMs: 1000,
  });
  const small = { type: "put", revision: 1, version: 1 } as const;
  table.record("a", 1, 0, small);
  table.record("b", 2, 0, small);
  table.record("c", 3, 0, small);
  table.record("d", 4, 0, small);
  assert.ok(table.bytes <= 300);
  assert.equal(table.lookup("a"), null);
  assert.deepEqual(table.lookup("d"), small);
  table.record("huge", 5, 0, { type: "invalid", reason: "x".repeat(400) });
  assert.equal(table.size, 0);
  assert.equal(table.bytes, 0);
});

Deno.test("idempotency: the table is part of the snapshot", () => {
  const d = new Driver();
  const first = d.put("k", "1", { idempotencyKey: "K" });
  const restored = new Driver({}, KvStateMachine.restore(d.machine.snapshot()));
  restored.timeMs = d.timeMs;
  const retry = restored.put("k", "1", { idempotencyKey: "K" });
  assert.equal(retry.replayed, true);
  assert.deepEqual(retry.result, first.result);
});
