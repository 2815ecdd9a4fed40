// ReadIndex (dissertation §6.4): linearizable reads without writing to the log.

import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import type { ReadState } from "./types.ts";
import { bytes, Cluster, drainNode, initialState, makeConfig } from "./test_util.ts";

const ABC = ["a", "b", "c"];

function reads(c: Cluster, id: string): ReadState[] {
  return c.applied.get(id)!.readStates;
}

function heartbeats(c: Cluster, since: number): number {
  return c.sent.slice(since).filter((m) => m.type === "heartbeat").length;
}

Deno.test("§6.4 a leader answers a read only after a heartbeat round reaches a majority", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.commit("a", "x");
  const commitIndex = c.node("a").status().commitIndex;
  c.isolated.add("b").add("c");
  c.node("a").readIndex(1);
  c.stabilize();
  c.tick(3, ["a"]);
  assert.deepEqual(reads(c, "a"), [], "no majority, no answer");
  c.isolated.delete("b");
  c.tick(1, ["a"]);
  assert.deepEqual(reads(c, "a"), [{ ctx: 1, index: commitIndex }], "a plus b is a majority");
});

Deno.test("§6.4 the read index is the commitIndex when the read arrived", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const before = c.commit("a", "x");
  c.node("a").readIndex(1);
  c.node("a").propose(bytes("y")); // commits in the same exchange as the read's heartbeats
  c.stabilize();
  assert.deepEqual(reads(c, "a"), [{ ctx: 1, index: before }]);
});

Deno.test("§6.4 reads that arrive while a round is in flight are all confirmed by the next one", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const index = c.node("a").status().commitIndex;
  const start = c.sent.length;
  c.node("a").readIndex(0);
  c.drain("a"); // round 1 is now in flight
  for (let ctx = 1; ctx <= 50; ctx++) c.node("a").readIndex(ctx);
  c.stabilize();
  assert.equal(heartbeats(c, start), 4, "two rounds of two heartbeats for 51 reads");
  const got = reads(c, "a");
  assert.equal(got.length, 51);
  assert.deepEqual(got.map((r) => r.ctx), Array.from({ length: 51 }, (_, k) => k));
  assert.ok(got.every((r) => r.index === index));
});

Deno.test("§6.4 a burst of reads before one ready() costs at most two heartbeat rounds", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const start = c.sent.length;
  for (let ctx = 1; ctx <= 100; ctx++) c.node("a").readIndex(ctx);
  c.stabilize();
  assert.equal(reads(c, "a").length, 100);
  assert.ok(heartbeats(c, start) <= 4, `${heartbeats(c, start)} heartbeats`);
});

Deno.test("§6.4 reads before the leader's first commit in its term wait for it", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.commit("a", "x");
  c.node("a").transferLeadership("b");
  c.drain();
  for (let k = 0; c.node("b").status().role !== "leader"; k++) {
    assert.ok(k < 10, "b never became leader");
    c.deliver();
  }
  const b = c.node("b");
  const noopIndex = b.status().lastIndex;
  assert.ok(b.status().commitIndex < noopIndex, "the no-op is not committed yet");
  b.readIndex(7);
  c.drain("b");
  assert.deepEqual(reads(c, "b"), [], "a read must not use a previous term's commitIndex");
  c.stabilize();
  assert.deepEqual(reads(c, "b"), [{ ctx: 7, index: noopIndex }]);
});

Deno.test("§6.4 a single-voter leader answers reads at once", () => {
  const c = new Cluster(["a"]);
  c.elect("a");
  const index = c.commit("a", "x");
  const start = c.sent.length;
  c.node("a").readIndex(3);
  c.drain("a");
  assert.deepEqual(reads(c, "a"), [{ ctx: 3, index }]);
  assert.equal(c.sent.length, start);
});

Deno.test("§6.4 a follower's read is forwarded and answered with the leader's commitIndex", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.commit("a", "x");
  c.node("b").readIndex(5);
  c.drain("b");
  assert.equal(c.queued("readIndex", "a").length, 1);
  c.stabilize();
  assert.deepEqual(reads(c, "b"), [{ ctx: 5, index: c.node("a").status().commitIndex }]);
  assert.deepEqual(reads(c, "a"), [], "the leader's own readStates are its own clients'");
});

Deno.test("§6.4 a forwarded read fails with index 0 when the leader changes", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.filter = (m) => m.type !== "readIndex"; // the request is lost on the way
  c.node("b").readIndex(8);
  c.stabilize();
  assert.equal(c.node("a").transferLeadership("c").type, "ok");
  c.stabilize();
  assert.equal(c.node("c").status().role, "leader");
  assert.deepEqual(reads(c, "b"), [{ ctx: 8, index: 0 }]);
});

Deno.test("§6.4 a read on a node that knows no leader fails at once", () => {
  const node = new RaftNode(makeConfig("a"), initialState(ABC));
  node.readIndex(4);
  const states = drainNode(node).flatMap((rd) => rd.readStates);
  assert.deepEqual(states, [{ ctx: 4, index: 0 }]);
});

Deno.test("§6.4 a read sent to a node that is not the leader is refused with index 0", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.node("c").step({ type: "readIndex", from: "b", to: "c", term: 1, ctx: 9 });
  c.drain("c");
  assert.deepEqual(
    c.queued("readIndexResp", "b").map((m) => m.type === "readIndexResp" && m.index),
    [0],
  );
});

Deno.test("§6.4 a deposed leader fails its pending reads; a stale leader never answers one", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.isolated.add("a");
  c.node("a").readIndex(1);
  c.tick(25, ["b", "c"]); // b or c takes over and commits in a new term
  assert.ok(c.leaders().some((id) => id !== "a"));
  c.commit(c.leaders().find((id) => id !== "a")!, "newer");
  assert.deepEqual(reads(c, "a"), [], "the old leader cannot confirm its read");
  c.isolated.clear();
  c.tick(1);
  assert.deepEqual(reads(c, "a"), [{ ctx: 1, index: 0 }], "failed, to be retried");
});

Deno.test("§6.4 pending reads beyond maxPendingReads fail at once", () => {
  const c = new Cluster(ABC, { maxPendingReads: 2 });
  c.elect("a");
  c.isolated.add("b").add("c");
  for (const ctx of [1, 2, 3]) c.node("a").readIndex(ctx);
  c.drain("a");
  assert.deepEqual(reads(c, "a"), [{ ctx: 3, index: 0 }]);
  c.isolated.clear();
  c.tick(1, ["a"]);
  assert.deepEqual(reads(c, "a").map((r) => r.ctx).sort((x, y) => x - y), [1, 2, 3]);
});

Deno.test("§6.4 a follower's reads share one request; reads during it wait for the next", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.commit("a", "x");
  const first = c.node("a").status().commitIndex;
  for (const ctx of [1, 2, 3]) c.node("b").readIndex(ctx);
  c.drain("b");
  assert.equal(c.queued("readIndex", "a").length, 1, "three reads, one request");
  // Reads that arrive while it is in flight must not take its answer: a write may commit
  // after the request was answered but before these reads began. They go in the next request.
  c.node("b").readIndex(4);
  c.node("b").readIndex(5);
  c.drain("b");
  assert.equal(c.queued("readIndex", "a").length, 1, "still the one request in flight");
  const write = c.node("a").propose(bytes("y"));
  assert.equal(write.type, "ok");
  c.stabilize();
  const states = reads(c, "b");
  assert.deepEqual(states.map((s) => s.ctx), [1, 2, 3, 4, 5]);
  for (const st of states) assert.ok(st.index >= first, `read ${st.ctx} at ${st.index}`);
  assert.equal(c.sent.filter((m) => m.type === "readIndex").length, 2, "five reads, two requests");
  c.node("b").readIndex(6);
  c.stabilize();
  const last = reads(c, "b").at(-1)!;
  assert.equal(last.ctx, 6);
  assert.ok(write.type === "ok" && last.index >= write.index, "a later read sees the write");
});
