import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { InvariantError } from "./assert.ts";
import { KvStateMachine } from "./state_machine.ts";
import { dec, Driver, enc } from "./test_helpers.ts";

const t0 = 1_700_000_000_000;

Deno.test("versions and revisions across create, update, delete and recreate", () => {
  const d = new Driver();
  const m = d.machine;
  assert.deepEqual(d.put("a", "1").result, { type: "put", revision: 1, version: 1 });
  assert.deepEqual(d.put("a", "2").result, { type: "put", revision: 2, version: 2 });
  d.noop(); // index 3: a leader's no-op changes nothing but appliedIndex
  assert.deepEqual(d.put("b", "x").result, { type: "put", revision: 4, version: 1 });
  assert.deepEqual(m.get("a", t0), {
    key: "a",
    value: enc("2"),
    createRevision: 1,
    modRevision: 2,
    version: 2,
    expiresAt: null,
  });
  assert.deepEqual(d.del("a").result, { type: "delete", revision: 5 });
  assert.equal(m.get("a", t0), null);
  assert.deepEqual(d.del("a").result, { type: "notFound" });
  assert.equal(m.revision, 5, "a delete of an absent key is no change");
  assert.equal(m.appliedIndex, 6);
  assert.deepEqual(d.put("a", "3").result, { type: "put", revision: 7, version: 1 });
  const a = m.get("a", t0);
  assert.equal(a?.createRevision, 7);
  assert.equal(dec(a?.value ?? null), "3");
  assert.equal(m.revision, 7);
  assert.equal(m.appliedIndex, 7);
  assert.equal(m.size, 2);
});

Deno.test("events: a put, a delete, and nothing for a miss", () => {
  const d = new Driver();
  assert.deepEqual(d.put("k", "v").events, [
    { type: "put", key: "k", value: enc("v"), revision: 1, version: 1 },
  ]);
  assert.deepEqual(d.put("k", "w").events[0].version, 2);
  assert.deepEqual(d.del("k").events, [{ type: "delete", key: "k", revision: 3, version: 0 }]);
  assert.deepEqual(d.del("k").events, []);
});

Deno.test("applied carries the reqId and index", () => {
  const d = new Driver();
  const applied = d.put("k", "v");
  assert.equal(applied.index, 1);
  assert.equal(applied.reqId, "r1");
  assert.equal(applied.replayed, false);
});

Deno.test("CAS on revision: success, stale revision, absent key", () => {
  const d = new Driver();
  d.put("k", "1"); // revision 1
  assert.deepEqual(d.put("k", "2", { ifRevision: 1 }).result, {
    type: "put",
    revision: 2,
    version: 2,
  });
  const stale = d.put("k", "3", { ifRevision: 1 });
  assert.deepEqual(stale.result, {
    type: "failed",
    reason: "revision",
    current: { revision: 2, version: 2 },
  });
  assert.deepEqual(stale.events, []);
  assert.equal(dec(d.machine.get("k", t0)?.value ?? null), "2");
  assert.deepEqual(d.put("nope", "x", { ifRevision: 1 }).result, {
    type: "failed",
    reason: "revision",
    current: null,
  });
  assert.equal(d.machine.revision, 2, "failed CAS changes nothing");
});

Deno.test("CAS on version (the text protocol's cas)", () => {
  const d = new Driver();
  d.put("k", "1");
  d.put("k", "2"); // version 2
  assert.deepEqual(d.put("k", "x", { ifVersion: 1 }).result, {
    type: "failed",
    reason: "version",
    current: { revision: 2, version: 2 },
  });
  assert.deepEqual(d.put("k", "3", { ifVersion: 2 }).result, {
    type: "put",
    revision: 4,
    version: 3,
  });
  assert.deepEqual(d.put("absent", "x", { ifVersion: 1 }).result, {
    type: "failed",
    reason: "version",
    current: null,
  });
});

Deno.test("create only: ifAbsent fails on an existing key, succeeds after delete", () => {
  const d = new Driver();
  assert.deepEqual(d.put("k", "1", { ifAbsent: true }).result, {
    type: "put",
    revision: 1,
    version: 1,
  });
  assert.deepEqual(d.put("k", "2", { ifAbsent: true }).result, {
    type: "failed",
    reason: "exists",
    current: { revision: 1, version: 1 },
  });
  d.del("k");
  assert.deepEqual(d.put("k", "3", { ifAbsent: true }).result, {
    type: "put",
    revision: 4,
    version: 1,
  });
});

Deno.test("conditional delete: ifRevision mismatch fails, match deletes", () => {
  const d = new Driver();
  d.put("k", "1");
  assert.deepEqual(d.del("k", { ifRevision: 9 }).result, {
    type: "failed",
    reason: "revision",
    current: { revision: 1, version: 1 },
  });
  assert.deepEqual(d.del("k", { ifRevision: 1 }).result, { type: "delete", revision: 3 });
  assert.deepEqual(d.del("k", { ifRevision: 1 }).result, { type: "notFound" });
});

Deno.test("limits: over-limit commands are invalid and change nothing", () => {
  const d = new Driver({ valueBytesMax: 8, keyBytesMax: 4, txnOpsMax: 2 });
  const before = d.machine.snapshot();
  const cases = [
    d.put("k", "123456789"),
    d.put("kkkkk", "v"),
    d.put("é€", "v"), // 5 UTF-8 bytes
    d.del("kkkkk"),
    d.txn([], [{ type: "get", key: "a" }, { type: "get", key: "b" }, { type: "get", key: "c" }]),
    d.txn([{ key: "a", target: "value", op: "==", value: new Uint8Array(9) }], []),
    d.txn([], [{ type: "put", key: "a", value: new Uint8Array(9) }]),
  ];
  for (const applied of cases) {
    assert.equal(applied.result.type, "invalid", JSON.stringify(applied.result));
    assert.deepEqual(applied.events, []);
  }
  assert.equal(d.machine.appliedIndex, cases.length);
  assert.equal(d.machine.size, 0);
  // Only appliedIndex (and the clock) moved.
  assert.notDeepEqual(d.machine.snapshot(), before);
  assert.equal(d.machine.revision, 0);
  assert.deepEqual(d.put("k", "12345678").result.type, "put");
});

Deno.test("malformed entry bytes give an error result and change nothing else", () => {
  const d = new Driver();
  d.put("k", "v");
  const reference = new Driver();
  reference.put("k", "v");
  const garbage = [
    new Uint8Array([0xc1]),
    encode({ v: 1, time: t0, reqId: "bad", type: "put", key: "k" }),
    encode("just a string"),
  ];
  for (const bytes of garbage) {
    const applied = d.raw(bytes);
    assert.equal(applied.result.type, "error");
    assert.deepEqual(applied.events, []);
    reference.noop();
    // Identical to a replica that saw a no-op at that index.
    assert.deepEqual(d.machine.snapshot(), reference.machine.snapshot());
  }
  assert.equal(d.machine.appliedIndex, 4);
  assert.equal(d.raw(garbage[1]).reqId, "bad");
});

Deno.test("apply and applyNoop insist on consecutive indexes", () => {
  const m = new KvStateMachine();
  assert.throws(() => m.applyNoop(2), InvariantError);
  m.applyNoop(1);
  assert.throws(() => m.apply(1, new Uint8Array()), InvariantError);
  assert.throws(() => m.apply(3, new Uint8Array()), InvariantError);
  assert.equal(m.apply(2, new Uint8Array()).result.type, "error");
});

Deno.test("stored values are copies: mutating the command bytes later changes nothing", () => {
  const d = new Driver();
  const value = enc("abc");
  d.run({ type: "put", key: "k", value });
  value[0] = 0x7a;
  assert.equal(dec(d.machine.get("k", t0)?.value ?? null), "abc");
  const kv = d.machine.get("k", t0);
  assert.ok(kv !== null && Object.isFrozen(kv), "records handed out are frozen");
});
