// Log compaction and InstallSnapshot (dissertation §5), and restart from stable storage.

import assert from "node:assert/strict";
import type { AppendResponse, Message } from "./types.ts";
import { appliedAgree, bytes, Cluster, voteRequest } from "./test_util.ts";

const ABC = ["a", "b", "c"];

/** a leads; c missed `count` entries that a and b then compacted away. */
function laggingBehindSnapshot(count: number): { c: Cluster; snapIndex: number } {
  const c = new Cluster(ABC);
  c.elect("a");
  c.isolated.add("c");
  for (let k = 0; k < count; k++) c.commit("a", `v${k}`);
  const a = c.node("a");
  const snapIndex = a.status().lastApplied;
  c.compact("a", snapIndex);
  c.compact("b", c.node("b").status().lastApplied);
  return { c, snapIndex };
}

function snapshots(msgs: Message[]): Message[] {
  return msgs.filter((m) => m.type === "snapshot");
}

Deno.test("§5 a lagging follower receives a snapshot, restores it, and its Ready carries it", () => {
  const { c, snapIndex } = laggingBehindSnapshot(10);
  assert.equal(c.node("a").status().snapshotIndex, snapIndex);
  assert.equal(c.node("a").entryAt(snapIndex), undefined, "compacted");
  c.isolated.clear();
  c.tick(1, ["a"]);
  const sent = snapshots(c.sent);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].type === "snapshot" && sent[0].snapshot.meta.index, snapIndex);
  const withSnap = c.readies.get("c")!.filter((rd) => rd.snapshot !== null);
  assert.equal(withSnap.length, 1);
  assert.deepEqual(withSnap[0].snapshot!.meta, c.node("a").snapshotMeta(snapIndex));
  assert.equal(withSnap[0].committedEntries.length, 0, "the image replaces the entries");
  const s = c.node("c").status();
  assert.equal(s.snapshotIndex, snapIndex);
  assert.equal(s.commitIndex, snapIndex);
  assert.equal(s.lastApplied, snapIndex);
  assert.deepEqual(c.disks.get("c")!.snapshot?.meta.index, snapIndex, "persisted");
  // Afterwards c follows by ordinary appends.
  c.commit("a", "after");
  assert.deepEqual(c.appliedData("c"), ["after"]);
  assert.equal(c.node("a").status().progress?.get("c")?.state, "replicate");
});

Deno.test("§5 a follower that already has the snapshot's entries keeps its log", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  for (let k = 0; k < 3; k++) c.commit("a", `v${k}`);
  c.isolated.add("b");
  c.node("a").propose(bytes("more")); // b misses this one
  c.stabilize();
  c.isolated.clear();
  const b = c.node("b");
  const bLast = b.status().lastIndex;
  const meta = { index: bLast, term: b.termAt(bLast)!, config: b.status().config };
  b.step({
    type: "snapshot",
    from: "a",
    to: "b",
    term: 1,
    snapshot: { meta, data: new Uint8Array() },
  });
  c.drain("b");
  const resp = c.queued("appendResp", "a")[0] as AppendResponse;
  assert.equal(resp.success, true);
  assert.equal(resp.matchIndex, bLast);
  assert.equal(b.status().snapshotIndex, 0, "no restore: the entries are kept");
  assert.equal(b.status().commitIndex, bLast);
});

Deno.test("§5 a stale snapshot is acknowledged with the follower's commitIndex", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  for (let k = 0; k < 3; k++) c.commit("a", `v${k}`);
  const b = c.node("b");
  const commitIndex = b.status().commitIndex;
  const meta = { index: 2, term: 1, config: b.status().config };
  b.step({
    type: "snapshot",
    from: "a",
    to: "b",
    term: 1,
    snapshot: { meta, data: new Uint8Array() },
  });
  c.drain("b");
  const resp = c.queued("appendResp", "a")[0] as AppendResponse;
  assert.equal(resp.matchIndex, commitIndex);
  assert.equal(b.status().snapshotIndex, 0);
});

Deno.test("§5 a snapshot the transport could not deliver is retried", () => {
  const { c } = laggingBehindSnapshot(5);
  c.isolated.clear();
  c.filter = (m) => m.type !== "snapshot";
  c.tick(1, ["a"]);
  assert.equal(c.node("a").status().progress?.get("c")?.state, "snapshot");
  c.node("a").reportSnapshot("c", false);
  assert.equal(c.node("a").status().progress?.get("c")?.state, "probe");
  c.filter = () => true;
  c.tick(1, ["a"]);
  assert.equal(snapshots(c.sent).length, 2);
  assert.equal(c.node("c").status().commitIndex, c.node("a").status().commitIndex);
});

Deno.test("§5 a lost snapshot is retried after the leader's stall timeout", () => {
  const { c } = laggingBehindSnapshot(5);
  c.isolated.clear();
  c.filter = (m) => m.type !== "snapshot";
  c.tick(1, ["a"]);
  c.filter = () => true;
  c.tick(100, ["a"]);
  assert.ok(snapshots(c.sent).length >= 2);
  assert.equal(c.node("c").status().commitIndex, c.node("a").status().commitIndex);
});

Deno.test("restart from InitialState (hard state + snapshot + entries) preserves term, votedFor, commit", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  for (let k = 0; k < 6; k++) c.commit("a", `v${k}`);
  const b = c.node("b");
  c.compact("b", 4);
  c.commit("a", "v6");
  const before = b.status();
  const restarted = c.restart("b");
  const after = restarted.status();
  assert.equal(after.term, before.term);
  assert.equal(after.votedFor, before.votedFor);
  assert.equal(after.commitIndex, before.commitIndex);
  assert.equal(after.lastIndex, before.lastIndex);
  assert.equal(after.snapshotIndex, 4);
  assert.equal(after.lastApplied, 4, "the state machine restarts from the snapshot");
  assert.deepEqual(after.config, before.config);
  for (let i = 5; i <= before.lastIndex; i++) assert.equal(restarted.termAt(i), b.termAt(i));
  c.drain("b");
  assert.deepEqual(c.appliedData("b"), ["v3", "v4", "v5", "v6"], "entries after the snapshot");
  c.commit("a", "v7");
  assert.deepEqual(c.appliedData("b").at(-1), "v7");
  assert.ok(appliedAgree(c));
});

Deno.test("§3.4 a restarted node remembers whom it voted for in its term", () => {
  const c = new Cluster(ABC);
  const b = c.node("b");
  b.step(voteRequest("a", "b", 1, { index: 0, term: 0 }));
  c.drain("b");
  c.queue = [];
  const restarted = c.restart("b");
  assert.equal(restarted.status().votedFor, "a");
  restarted.step(voteRequest("c", "b", 1, { index: 0, term: 0 }));
  c.drain("b");
  const resp = c.queue.find((m) => m.type === "voteResp");
  assert.equal(resp?.type === "voteResp" && resp.granted, false);
});
