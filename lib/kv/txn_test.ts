import assert from "node:assert/strict";
import type { Compare } from "./commands.ts";
import type { TxnResult } from "./results.ts";
import { holds } from "./txn.ts";
import { dec, Driver, enc } from "./test_helpers.ts";

function txnResult(result: unknown): TxnResult {
  assert.equal((result as { type: string }).type, "txn", JSON.stringify(result));
  return result as TxnResult;
}

Deno.test("txn: success branch, all writes at one revision, ops see each other", () => {
  const d = new Driver();
  d.put("a", "1"); // 1
  d.put("b", "1"); // 2
  const applied = d.txn(
    [{ key: "a", target: "value", op: "==", value: enc("1") }],
    [
      { type: "put", key: "a", value: enc("2") },
      { type: "get", key: "a" },
      { type: "delete", key: "b" },
      { type: "delete", key: "missing" },
      { type: "put", key: "c", value: enc("new"), ttlMs: 1000 },
    ],
    [{ type: "put", key: "failure-ran", value: enc("!") }],
  );
  const result = txnResult(applied.result);
  assert.equal(result.succeeded, true);
  assert.equal(result.revision, 3);
  assert.deepEqual(result.results[0], { type: "put", revision: 3, version: 2 });
  const get = result.results[1];
  assert.ok(get.type === "get" && get.kv !== null);
  assert.equal(dec(get.kv.value), "2");
  assert.equal(get.kv.modRevision, 3);
  assert.deepEqual(result.results.slice(2), [
    { type: "delete", deleted: true },
    { type: "delete", deleted: false },
    { type: "put", revision: 3, version: 1 },
  ]);
  assert.deepEqual(applied.events.map((e) => [e.type, e.key, e.revision]), [
    ["put", "a", 3],
    ["delete", "b", 3],
    ["put", "c", 3],
  ]);
  assert.equal(d.machine.get("failure-ran", d.timeMs), null);
  assert.equal(d.machine.get("c", d.timeMs)?.expiresAt, d.timeMs + 1000);
});

Deno.test("txn: a failing compare runs the failure branch", () => {
  const d = new Driver();
  d.put("a", "1");
  const applied = d.txn(
    [
      { key: "a", target: "exists", op: "==", value: true },
      { key: "a", target: "version", op: ">", value: 1 },
    ],
    [{ type: "put", key: "a", value: enc("success") }],
    [{ type: "get", key: "a" }, { type: "put", key: "log", value: enc("failed") }],
  );
  const result = txnResult(applied.result);
  assert.equal(result.succeeded, false);
  assert.equal(result.revision, 2);
  assert.equal(result.results[0].type === "get" && dec(result.results[0].kv?.value ?? null), "1");
  assert.equal(dec(d.machine.get("log", d.timeMs)?.value ?? null), "failed");
});

Deno.test("txn: reads only change nothing and report the store's revision", () => {
  const d = new Driver();
  d.put("a", "1");
  d.noop();
  const applied = d.txn([], [{ type: "get", key: "a" }, { type: "get", key: "nope" }]);
  const result = txnResult(applied.result);
  assert.equal(result.succeeded, true, "no compares: success");
  assert.equal(result.revision, 1);
  assert.deepEqual(result.results[1], { type: "get", kv: null });
  assert.deepEqual(applied.events, []);
  assert.equal(d.machine.revision, 1);
  assert.equal(d.machine.appliedIndex, 3);
});

Deno.test("txn: expired keys named anywhere are reaped first and compare as absent", () => {
  const d = new Driver();
  d.put("a", "1", { ttlMs: 5 });
  d.put("b", "1", { ttlMs: 5 });
  d.advance(5);
  const applied = d.txn(
    [{ key: "a", target: "exists", op: "==", value: false }],
    [{ type: "get", key: "a" }],
    [{ type: "delete", key: "b" }],
  );
  const result = txnResult(applied.result);
  assert.equal(result.succeeded, true);
  assert.deepEqual(result.results, [{ type: "get", kv: null }]);
  assert.deepEqual(applied.events.map((e) => [e.type, e.key]), [["expire", "a"], ["expire", "b"]]);
  assert.equal(result.revision, 3);
});

Deno.test("txn compare: every target and op, including absent-key rules", () => {
  const kv = {
    key: "k",
    value: enc("m"),
    createRevision: 3,
    modRevision: 5,
    version: 2,
    expiresAt: null,
  };
  const table: [Compare, boolean, boolean][] = [
    // [compare, on the present key, on an absent key]
    [{ key: "k", target: "value", op: "==", value: enc("m") }, true, false],
    [{ key: "k", target: "value", op: "!=", value: enc("m") }, false, false],
    [{ key: "k", target: "value", op: "<", value: enc("n") }, true, false],
    [{ key: "k", target: "value", op: ">", value: enc("l") }, true, false],
    [{ key: "k", target: "value", op: ">", value: enc("mm") }, false, false],
    [{ key: "k", target: "value", op: "<", value: enc("mm") }, true, false],
    [{ key: "k", target: "version", op: "==", value: 2 }, true, false],
    [{ key: "k", target: "version", op: "==", value: 0 }, false, true],
    [{ key: "k", target: "version", op: "<", value: 3 }, true, true],
    [{ key: "k", target: "version", op: "!=", value: 2 }, false, true],
    [{ key: "k", target: "revision", op: "==", value: 5 }, true, false],
    [{ key: "k", target: "revision", op: ">", value: 4 }, true, false],
    [{ key: "k", target: "revision", op: "<", value: 1 }, false, true],
    [{ key: "k", target: "exists", op: "==", value: true }, true, false],
    [{ key: "k", target: "exists", op: "!=", value: true }, false, true],
    [{ key: "k", target: "exists", op: "==", value: false }, false, true],
  ];
  for (const [compare, present, absent] of table) {
    assert.equal(holds(compare, kv), present, `present: ${JSON.stringify(compare)}`);
    assert.equal(holds(compare, undefined), absent, `absent: ${JSON.stringify(compare)}`);
  }
});

Deno.test("txn: CAS on revision through a compare", () => {
  const d = new Driver();
  d.put("k", "1"); // revision 1
  const cas = (expected: number, value: string) =>
    txnResult(
      d.txn(
        [{ key: "k", target: "revision", op: "==", value: expected }],
        [{ type: "put", key: "k", value: enc(value) }],
      ).result,
    );
  assert.equal(cas(1, "2").succeeded, true);
  assert.equal(cas(1, "3").succeeded, false);
  assert.equal(dec(d.machine.get("k", d.timeMs)?.value ?? null), "2");
});
