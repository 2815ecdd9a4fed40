import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import type { KeyValue } from "./results.ts";
import { decodeSnapshot, encodeSnapshot, SnapshotError } from "./snapshot.ts";
import { KvStateMachine } from "./state_machine.ts";
import { Driver, enc } from "./test_helpers.ts";

function populated(): Driver {
  const d = new Driver();
  d.put("a", "1", { idempotencyKey: "K1" });
  d.put("b", "2", { ttlMs: 500 });
  d.put("é", "3");
  d.put("a", "4", { ifRevision: 1 });
  d.noop();
  d.del("é", { idempotencyKey: "K2" });
  d.put("gone", "x", { ttlMs: 1 });
  d.advance(10);
  d.txn([{ key: "a", target: "version", op: "==", value: 2 }], [
    { type: "put", key: "c", value: new Uint8Array([0, 1, 2, 255]), ttlMs: 10_000 },
  ]);
  return d;
}

Deno.test("snapshot: restore gives the same state, reads and snapshot bytes", () => {
  const d = populated();
  const bytes = d.machine.snapshot();
  const restored = KvStateMachine.restore(bytes);
  assert.deepEqual(restored.snapshot(), bytes);
  assert.equal(restored.appliedIndex, d.machine.appliedIndex);
  assert.equal(restored.revision, d.machine.revision);
  assert.equal(restored.clockMs, d.machine.clockMs);
  assert.equal(restored.size, d.machine.size);
  assert.equal(restored.nextExpiresAt(), d.machine.nextExpiresAt());
  assert.deepEqual(restored.range({}, d.timeMs), d.machine.range({}, d.timeMs));
  assert.deepEqual(restored.get("b", d.timeMs + 1000), null);
  // Both continue identically.
  const twin = new Driver({}, restored);
  twin.timeMs = d.timeMs;
  for (const driver of [d, twin]) {
    driver.put("a", "again", { idempotencyKey: "K1" }); // replayed on both
    driver.advance(600);
    driver.sweep();
  }
  assert.deepEqual(twin.machine.snapshot(), d.machine.snapshot());
});

Deno.test("snapshot: two replicas with the same history give byte-identical images", () => {
  const a = populated().machine.snapshot();
  const b = populated().machine.snapshot();
  assert.deepEqual(a, b);
  assert.deepEqual(new KvStateMachine().snapshot(), new KvStateMachine().snapshot());
});

Deno.test("snapshot: an empty machine round-trips", () => {
  const empty = new KvStateMachine();
  const restored = KvStateMachine.restore(empty.snapshot());
  assert.equal(restored.appliedIndex, 0);
  assert.equal(restored.size, 0);
});

Deno.test("snapshot: malformed images throw SnapshotError", () => {
  const good = decodeSnapshot(populated().machine.snapshot());
  const record = (over: Partial<KeyValue>): KeyValue => ({ ...good.records[0], ...over });
  const bad: Uint8Array[] = [
    new Uint8Array([0xc1]),
    new Uint8Array(),
    encode({ not: "an array" }),
    encode(["other-magic", 1, 0, 0, 0, [], []]),
    encode(["raftkv-kv", 99, 0, 0, 0, [], []]),
    encode(["raftkv-kv", 1, 5, 6, 0, [], []]), // revision beyond appliedIndex
    encode(["raftkv-kv", 1, 5, 5, 0, ["k", enc("v"), 1, 1, 1], []]), // short record
    encode(["raftkv-kv", 1, 5, 5, -1, [], []]),
    encodeSnapshot({ ...good, records: [...good.records].reverse() }), // unsorted keys
    encodeSnapshot({ ...good, records: [good.records[0], good.records[0]] }), // duplicate key
    encodeSnapshot({ ...good, records: [record({ version: 0 })] }),
    encodeSnapshot({ ...good, records: [record({ modRevision: good.revision + 1 })] }),
    encodeSnapshot({ ...good, records: [record({ createRevision: 9, modRevision: 8 })] }),
    encodeSnapshot({ ...good, idempotency: [...good.idempotency].reverse() }),
    populated().machine.snapshot().slice(0, 40), // truncated
  ];
  for (const [i, bytes] of bad.entries()) {
    assert.throws(() => KvStateMachine.restore(bytes), SnapshotError, `case ${i}`);
  }
});

Deno.test("snapshot: 100,000 keys round-trip byte-identically, quickly", () => {
  const value = new Uint8Array(100).fill(7);
  const records: KeyValue[] = [];
  for (let i = 0; i < 100_000; i++) {
    const key = `key/${String(i).padStart(6, "0")}`;
    records.push({
      key,
      value,
      createRevision: i + 1,
      modRevision: i + 1,
      version: 1,
      expiresAt: i % 10 === 0 ? 2_000_000_000_000 + i : null,
    });
  }
  const image = encodeSnapshot({
    appliedIndex: 100_000,
    revision: 100_000,
    clockMs: 1,
    records,
    idempotency: [],
  });
  const start = performance.now();
  const machine = KvStateMachine.restore(image);
  const restoredMs = performance.now() - start;
  const again = machine.snapshot();
  const totalMs = performance.now() - start;
  assert.equal(machine.size, 100_000);
  assert.deepEqual(again, image);
  assert.equal(machine.nextExpiresAt(), 2_000_000_000_000);
  // Generous bound for a shared 2-core machine; the bench reports the real numbers.
  assert.ok(totalMs < 3000, `restore ${restoredMs.toFixed(0)} ms, total ${totalMs.toFixed(0)} ms`);
});
