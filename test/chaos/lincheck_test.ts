// The checker on hand-made histories (each a small story with a known verdict) and on large
// generated ones, where it must also be fast.

import assert from "node:assert/strict";
import { type FinalState, lostWrites, realTimeAnomalies, toCheckOps } from "./analysis.ts";
import { fakeHistory } from "./fake_history.ts";
import type { CompletedOp, OpKind, Outcome } from "./history.ts";
import {
  ABSENT,
  type CheckOp,
  checkPartitioned,
  checkRegister,
  type CurrentState,
  NO_VALUE,
  type RegisterOp,
  step,
  UNSEEN,
} from "./lincheck.ts";
import { Rng } from "../rng.ts";

/** One op for a hand-made history: [invoke, complete] (complete null = indeterminate). */
function op(
  kind: OpKind,
  at: [number, number | null],
  outcome: Outcome,
  extra: { key?: string; value?: string; expect?: number; client?: string } = {},
): Omit<CompletedOp, "id"> {
  return {
    client: extra.client ?? "c",
    node: "n1",
    kind,
    key: extra.key ?? "k",
    value: extra.value ?? null,
    expectRevision: extra.expect ?? null,
    invokeMs: at[0],
    completeMs: outcome.type === "unknown" ? null : at[1],
    outcome,
  };
}

const put = (value: string, at: [number, number | null], revision: number | null, key = "k") =>
  op(
    "put",
    at,
    revision === null
      ? { type: "unknown", reason: "504" }
      : { type: "written", revision, version: 1 },
    { value, key },
  );
const get = (value: string | null, at: [number, number], revision = 0, key = "k") =>
  op(
    "get",
    at,
    value === null
      ? { type: "absent" }
      : { type: "value", value, revision, version: 1, storeRevision: 1000 },
    { key },
  );
const cas = (expect: number, value: string, at: [number, number | null], outcome: Outcome) =>
  op("cas", at, outcome, { expect, value });
const del = (at: [number, number | null], outcome: Outcome) => op("delete", at, outcome);
const unknown: Outcome = { type: "unknown", reason: "504" };

function verdict(ops: Omit<CompletedOp, "id">[]): string {
  const history = ops.map((o, id) => ({ ...o, id }));
  const { partitions } = toCheckOps(history);
  const results = checkPartitioned(partitions);
  return results.every((r) => r.result.type === "linearizable") ? "ok" : "violation";
}

Deno.test("lincheck: sequential writes and reads", () => {
  assert.equal(
    verdict([put("a", [0, 1], 2), get("a", [2, 3], 2), put("b", [4, 5], 3), get("b", [6, 7], 3)]),
    "ok",
  );
  assert.equal(verdict([get(null, [0, 1]), put("a", [2, 3], 2), get("a", [4, 5], 2)]), "ok");
});

Deno.test("lincheck: a stale read is a violation", () => {
  assert.equal(
    verdict([put("a", [0, 1], 2), put("b", [2, 3], 3), get("a", [4, 5], 2)]),
    "violation",
  );
});

Deno.test("lincheck: reads during a write may see either value, but never go back", () => {
  assert.equal(verdict([put("a", [0, 10], 2), get(null, [1, 2]), get("a", [3, 4], 2)]), "ok");
  assert.equal(
    verdict([put("a", [0, 10], 2), get(null, [1, 2]), get("a", [3, 4], 2), get(null, [5, 6])]),
    "violation",
  );
  // Two concurrent readers may disagree while the write is in flight.
  assert.equal(verdict([put("a", [0, 10], 2), get("a", [1, 5], 2), get(null, [2, 6])]), "ok");
});

Deno.test("lincheck: an acknowledged write that vanishes is a violation", () => {
  assert.equal(verdict([put("a", [0, 1], 2), get(null, [2, 3])]), "violation");
  assert.equal(
    verdict([put("a", [0, 1], 2), put("b", [2, 3], 3), get("a", [4, 5], 2)]),
    "violation",
  );
});

Deno.test("lincheck: an indeterminate write may be observed, or never happen", () => {
  assert.equal(verdict([put("a", [0, null], null), get("a", [5, 6], 2)]), "ok");
  assert.equal(verdict([put("a", [0, null], null), get(null, [5, 6])]), "ok");
  assert.equal(verdict([put("a", [0, null], null), get(null, [5, 6]), get("a", [7, 8], 2)]), "ok");
  // Once seen it has happened: with no delete, the key cannot be absent again.
  assert.equal(
    verdict([put("a", [0, null], null), get("a", [5, 6], 2), get(null, [7, 8])]),
    "violation",
  );
  // ...and it cannot be seen before it was invoked.
  assert.equal(verdict([get("a", [0, 1], 2), put("a", [2, null], null)]), "violation");
  // An indeterminate write cannot be undone by an older value.
  assert.equal(
    verdict([
      put("a", [0, 1], 2),
      put("b", [2, null], null),
      get("b", [3, 4], 3),
      get("a", [5, 6], 2),
    ]),
    "violation",
  );
});

Deno.test("lincheck: compare-and-swap on revision", () => {
  const base = [put("a", [0, 1], 2)];
  const ok: Outcome = { type: "written", revision: 3, version: 2 };
  assert.equal(verdict([...base, cas(2, "b", [2, 3], ok), get("b", [4, 5], 3)]), "ok");
  // Two CAS from the same revision cannot both succeed.
  assert.equal(
    verdict([
      ...base,
      cas(2, "b", [2, 3], ok),
      cas(2, "c", [4, 5], { type: "written", revision: 4, version: 3 }),
    ]),
    "violation",
  );
  // A 412 while the key still holds the expected revision is a violation.
  assert.equal(
    verdict([...base, cas(2, "b", [2, 3], { type: "preconditionFailed", currentRevision: 2 })]),
    "violation",
  );
  // A 412 after another write is fine, and must name the key's state at that point.
  const after = [...base, put("c", [2, 3], 3)];
  assert.equal(
    verdict([...after, cas(2, "b", [4, 5], { type: "preconditionFailed", currentRevision: 3 })]),
    "ok",
  );
  assert.equal(
    verdict([...after, cas(2, "b", [4, 5], { type: "preconditionFailed", currentRevision: null })]),
    "violation",
  );
  // An indeterminate CAS that was observed must have succeeded, and not before its invocation.
  assert.equal(verdict([...base, cas(2, "b", [2, null], unknown), get("b", [5, 6], 3)]), "ok");
  assert.equal(
    verdict([...base, get("b", [2, 3], 3), cas(2, "b", [4, null], unknown)]),
    "violation",
  );
  // An indeterminate CAS from a stale revision cannot have written.
  assert.equal(
    verdict([...after, cas(2, "b", [4, null], unknown), get("b", [6, 7], 4)]),
    "violation",
  );
});

Deno.test("lincheck: deletes, determinate and not", () => {
  const base = [put("a", [0, 1], 2)];
  assert.equal(
    verdict([...base, del([2, 3], { type: "deleted", revision: 3 }), get(null, [4, 5])]),
    "ok",
  );
  assert.equal(verdict([...base, del([2, 3], { type: "absent" })]), "violation");
  assert.equal(
    verdict([...base, del([2, null], unknown), get("a", [4, 5], 2), get(null, [6, 7])]),
    "ok",
  );
  assert.equal(
    verdict([...base, del([2, null], unknown), get(null, [4, 5]), get("a", [6, 7], 2)]),
    "violation",
  );
  // A second successful delete needs a write in between: an unobserved indeterminate one will do
  // (found only by the second, full pass of the search).
  const twice = [
    ...base,
    del([2, 3], { type: "deleted", revision: 3 }),
    del([6, 7], { type: "deleted", revision: 5 }),
  ];
  assert.equal(verdict(twice), "violation");
  assert.equal(verdict([...twice.slice(0, 2), put("x", [4, null], null), twice[2]]), "ok");
});

Deno.test("lincheck: keys are independent", () => {
  assert.equal(
    verdict([put("a", [0, 1], 2, "k1"), get(null, [2, 3], 0, "k2"), get("a", [4, 5], 2, "k1")]),
    "ok",
  );
  assert.equal(
    verdict([put("a", [0, 1], 2, "k1"), put("b", [0, 1], 3, "k2"), get(null, [4, 5], 0, "k2")]),
    "violation",
  );
});

Deno.test("lincheck: the search reports the longest linearization and where it got stuck", () => {
  const ops: CheckOp[] = [
    { id: 10, invokeMs: 0, completeMs: 1, op: { type: "write", value: 0 } },
    { id: 11, invokeMs: 2, completeMs: 3, op: { type: "write", value: 1 } },
    { id: 12, invokeMs: 4, completeMs: 5, op: { type: "read", expect: 0 } },
  ];
  const result = checkRegister(ops);
  assert.equal(result.type, "violation");
  if (result.type !== "violation") return;
  assert.deepEqual(result.longest, [10, 11]);
  assert.equal(result.stuckAt, 12);
  assert.equal(
    checkRegister([{ ...ops[2], op: { type: "read", expect: ABSENT } }]).type,
    "linearizable",
  );
});

Deno.test("lincheck: the search gives up at its deadline with 'unknown'", () => {
  // Many indeterminate writes pending at once and an impossible read: exponential to refute.
  const ops: CheckOp[] = Array.from({ length: 40 }, (_, i) => ({
    id: i,
    invokeMs: i,
    completeMs: null,
    op: { type: "write", value: i },
  }));
  ops.push({ id: 99, invokeMs: 100, completeMs: 101, op: { type: "read", expect: 77 } });
  const result = checkRegister(ops, { deadlineMs: performance.now() + 200 });
  assert.equal(result.type, "unknown");
});

Deno.test("analysis: anomalies that need no search", () => {
  const history = [
    put("a", [0, 1], 2),
    get("a", [2, 3], 5), // a seen at two revisions
    put("b", [4, 5], 2, "k2"), // revision 2 reused, and not above the earlier write's
  ].map((o, id) => ({ ...o, id }));
  const { anomalies } = toCheckOps(history);
  assert.ok(anomalies.some((a) => a.includes("seen at revision 5 and 2")), anomalies.join("\n"));
  assert.ok(anomalies.some((a) => a.includes("revision 2 holds b")), anomalies.join("\n"));
  assert.ok(anomalies.some((a) => a.includes("is not above 2")), anomalies.join("\n"));
  const stale = [
    put("a", [0, 1], 7, "k1"),
    op("get", [2, 3], { type: "value", value: "x", revision: 3, version: 1, storeRevision: 6 }, {
      key: "k2",
    }),
  ].map((o, id) => ({ ...o, id }));
  assert.match(realTimeAnomalies(stale).join("\n"), /stale read/);
  const phantom = toCheckOps([get("zz", [0, 1], 2)].map((o, id) => ({ ...o, id })));
  assert.match(phantom.anomalies.join("\n"), /no client wrote/);
});

Deno.test("analysis: lost acknowledged writes against the converged state", () => {
  const history = [
    put("a", [0, 1], 2, "k1"),
    put("b", [2, 3], 3, "k1"),
    put("c", [0, 1], 4, "k2"),
    put("d", [0, 1], 5, "k3"),
    op("delete", [2, 3], { type: "deleted", revision: 6 }, { key: "k3" }),
    put("e", [0, 1], 7, "k4"),
    op("delete", [2, null], unknown, { key: "k4" }),
  ].map((o, id) => ({ ...o, id }));
  const fine = new Map<string, FinalState>([
    ["k1", { value: "b", revision: 3 }],
    ["k2", { value: "c", revision: 4 }],
    ["k3", null],
    ["k4", null],
  ]);
  assert.deepEqual(lostWrites(history, fine), []);
  const lost = lostWrites(
    history,
    new Map<string, FinalState>([
      ["k1", { value: "a", revision: 2 }],
      ["k2", null],
      ["k3", { value: "d", revision: 5 }],
      ["k4", { value: "e", revision: 7 }],
    ]),
  );
  assert.equal(lost.length, 3, lost.join("\n"));
  assert.match(lost.join("\n"), /op 1 .*k1 ends at revision 2/);
  assert.match(lost.join("\n"), /op 2 .*k2 ends absent/);
  assert.match(lost.join("\n"), /op 4 .*delete k3/);
});

Deno.test("lincheck: 5,000 operations over 20 keys, 8 clients, in well under 30 s", () => {
  const ops = fakeHistory({
    seed: 7,
    ops: 5000,
    keys: 20,
    clients: 8,
    unknownRate: 0.05,
    failedRate: 0.03,
  });
  const started = performance.now();
  const { partitions, anomalies } = toCheckOps(ops);
  const results = checkPartitioned(partitions, { deadlineMs: started + 30_000 });
  const elapsedMs = performance.now() - started;
  console.log(`5,000-op history: checked in ${elapsedMs.toFixed(0)} ms`);
  assert.deepEqual(anomalies, []);
  assert.equal(results.length, 20);
  for (const r of results) assert.equal(r.result.type, "linearizable", r.key);
  assert.ok(elapsedMs < 30_000, `took ${elapsedMs} ms`);
});

Deno.test("lincheck: generated histories pass, and a planted stale read fails", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const ops = fakeHistory({
      seed,
      ops: 1500,
      keys: 5,
      clients: 8,
      unknownRate: 0.1,
      failedRate: 0.05,
      finalReads: true,
    });
    const check = (history: CompletedOp[]) =>
      checkPartitioned(toCheckOps(history).partitions).every((r) =>
        r.result.type === "linearizable"
      );
    assert.ok(check(ops), `seed ${seed}`);
    // Plant: a final read returns an acknowledged write that another acknowledged write, begun
    // after it completed, overwrote.
    const mutated = structuredClone(ops);
    const final = mutated.find((o) => o.client === "final" && o.outcome.type === "value")!;
    const writes = mutated.filter((o) => o.key === final.key && o.outcome.type === "written");
    const older = writes.find((w) => writes.some((x) => x.invokeMs > w.completeMs!));
    assert.ok(older, `seed ${seed}: no overwritten acknowledged write`);
    const r = older.outcome as Extract<Outcome, { type: "written" }>;
    final.outcome = {
      type: "value",
      value: older.value!,
      revision: r.revision,
      version: 1,
      storeRevision: 1e9,
    };
    assert.equal(check(mutated), false, `seed ${seed}: stale final read not caught`);
  }
});

Deno.test("lincheck: interchangeable unobserved writes are refuted quickly", () => {
  const ops: CheckOp[] = Array.from({ length: 60 }, (_, i) => ({
    id: i,
    invokeMs: i,
    completeMs: null,
    op: i % 3 === 0 ? { type: "delete", outcome: "unknown" } : { type: "write", value: UNSEEN },
  }));
  ops.push({ id: 99, invokeMs: 100, completeMs: 101, op: { type: "read", expect: 5 } });
  const started = performance.now();
  assert.equal(checkRegister(ops).type, "violation");
  assert.ok(performance.now() - started < 2000);
});

/** Every order and every subset of indeterminate operations, for tiny histories. */
function bruteForce(ops: readonly CheckOp[]): boolean {
  const used = new Array(ops.length).fill(false);
  const precedes = (a: CheckOp, b: CheckOp) => a.completeMs !== null && a.completeMs < b.invokeMs;
  const extend = (state: number, placed: CheckOp[]): boolean => {
    if (ops.every((op, i) => used[i] || op.completeMs === null)) return true;
    for (let i = 0; i < ops.length; i++) {
      if (used[i]) continue;
      // Every unplaced determinate op must not have to precede this one.
      if (ops.some((o, j) => !used[j] && j !== i && o.completeMs !== null && precedes(o, ops[i]))) {
        continue;
      }
      const after = step(state, ops[i].op);
      if (after === null) continue;
      used[i] = true;
      const ok = extend(after, [...placed, ops[i]]);
      used[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return extend(ABSENT, []);
}

Deno.test("lincheck: agrees with brute force on small random histories", () => {
  const rng = new Rng(42);
  let violations = 0;
  for (let trial = 0; trial < 3000; trial++) {
    const n = rng.int(2, 7);
    const ops: CheckOp[] = [];
    for (let i = 0; i < n; i++) {
      const invokeMs = rng.int(0, 10);
      const completeMs = rng.chance(0.3) ? null : invokeMs + rng.int(0, 4);
      const value = () => rng.pick([ABSENT, 0, 1, 2, UNSEEN]);
      const op: RegisterOp = rng.pick<() => RegisterOp>([
        () => ({ type: "read", expect: value() }),
        () => ({ type: "write", value: rng.pick([0, 1, 2, UNSEEN]) }),
        () => ({
          type: "cas",
          from: rng.pick([0, 1, 2, NO_VALUE]),
          to: rng.pick([0, 1, 2]),
          outcome: completeMs === null ? "unknown" : rng.pick(["ok", "failed"] as const),
          current: rng.pick<CurrentState>([{ type: "any" }, { type: "is", value: value() }, {
            type: "presentExcept",
            excluded: [rng.int(0, 2)],
          }]),
        }),
        () => ({
          type: "delete",
          outcome: completeMs === null ? "unknown" : rng.pick(["deleted", "absent"] as const),
        }),
      ])();
      if (op.type === "read" && completeMs === null) continue; // reads without answers are dropped
      ops.push({ id: i, invokeMs, completeMs, op });
    }
    const expected = bruteForce(ops);
    const got = checkRegister(ops).type === "linearizable";
    if (!expected) violations++;
    assert.equal(got, expected, JSON.stringify(ops));
  }
  assert.ok(violations > 300, `only ${violations} non-linearizable cases`);
});
