// Membership changes, one server at a time: dissertation §4.1, §4.2.1 (learners catch up
// before voting), §4.2.2 (removing the leader), §4.2.3 (removed servers do not disrupt).

import assert from "node:assert/strict";
import { encodeConfChange } from "./confchange.ts";
import type { ConfChange, Role } from "./types.ts";
import { bytes, Cluster, initialState } from "./test_util.ts";

const ABC = ["a", "b", "c"];

function change(c: Cluster, id: string, cc: ConfChange) {
  return c.node(id).proposeConfChange(cc);
}

function rolesSeen(c: Cluster, id: string): Role[] {
  return c.readies.get(id)!.flatMap((rd) => (rd.softState ? [rd.softState.role] : []));
}

Deno.test("§4.2.1 a learner catches up, is promoted automatically and becomes a voter", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  for (let k = 0; k < 5; k++) c.commit("a", `v${k}`);
  c.add("d", initialState(ABC));
  assert.equal(change(c, "a", { type: "addLearner", id: "d", context: "addr" }).type, "ok");
  assert.deepEqual(c.node("a").status().config.learners, ["d"], "in force as soon as appended");
  c.stabilize();
  c.tick(3);
  const config = c.node("a").status().config;
  assert.deepEqual(config, {
    voters: ["a", "b", "c", "d"],
    learners: [],
    contexts: { d: "addr" },
  });
  for (const id of ["b", "c", "d"]) assert.deepEqual(c.node(id).status().config, config, id);
  assert.deepEqual(c.appliedData("d"), ["v0", "v1", "v2", "v3", "v4"]);
  assert.ok(rolesSeen(c, "d").includes("learner"), "d was a learner on the way");
  assert.equal(c.node("d").status().role, "follower");
  c.isolated.add("b").add("c");
  c.node("a").propose(bytes("needs-d"));
  c.stabilize();
  assert.ok(!c.appliedData("a").includes("needs-d"), "a and d are not a majority of four");
});

Deno.test("§4.2.1 a learner that caught up before its addLearner committed is still promoted", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.add("d", initialState(ABC));
  // Hold back the voters' acks so d catches up while the addLearner entry is uncommitted.
  c.filter = (m) => !(m.type === "appendResp" && (m.from === "b" || m.from === "c"));
  assert.equal(change(c, "a", { type: "addLearner", id: "d", context: "" }).type, "ok");
  c.tick(2);
  const last = c.node("a").status().lastIndex;
  assert.equal(c.node("a").status().progress?.get("d")?.matchIndex, last, "d caught up");
  assert.ok(c.node("a").status().commitIndex < last, "addLearner not committed yet");
  c.filter = () => true;
  c.tick(5);
  assert.deepEqual(c.node("a").status().config.voters, ["a", "b", "c", "d"]);
});

Deno.test("§4.2.1 a learner does not campaign and does not count for commitment", () => {
  const c = new Cluster(["a", "b"]);
  c.elect("a");
  c.add("l", initialState(["a", "b"]));
  c.filter = (m) =>
    !(m.type === "append" && m.to === "l" && m.entries.length > 0) ||
    m.entries.every((e) => e.index <= 2); // l gets the addLearner entry, then nothing
  change(c, "a", { type: "addLearner", id: "l", context: "" });
  c.stabilize();
  c.tick(2);
  assert.deepEqual(c.node("l").status().config.learners, ["l"]);
  assert.equal(c.node("l").status().role, "learner");
  c.isolated.add("a");
  c.tick(40, ["l"]);
  assert.ok(!c.sent.some((m) => m.from === "l" && (m.type === "vote" || m.type === "preVote")));
  c.node("l").campaign();
  c.drain("l");
  assert.equal(c.queue.filter((m) => m.from === "l").length, 0, "a forced campaign is a no-op");
});

Deno.test("§4.1 only one configuration change at a time", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  assert.equal(change(c, "a", { type: "addLearner", id: "d", context: "" }).type, "ok");
  const second = change(c, "a", { type: "addLearner", id: "e", context: "" });
  assert.equal(second.type, "rejected");
  c.stabilize();
  c.tick(2);
  assert.equal(change(c, "a", { type: "addLearner", id: "e", context: "" }).type, "ok");
});

Deno.test("§4.1 a batch may not carry two configuration changes", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const res = c.node("a").proposeBatch([
    { type: "config", data: encodeConfChange({ type: "addLearner", id: "d", context: "" }) },
    { type: "config", data: encodeConfChange({ type: "addLearner", id: "e", context: "" }) },
  ]);
  assert.equal(res.type, "rejected");
  assert.deepEqual(c.node("a").status().config, { voters: ABC, learners: [] });
});

Deno.test("§4.1 a batch may not promote two learners at once (3 → 5 voters)", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.add("d", initialState(ABC));
  c.add("e", initialState(ABC));
  c.filter = (m) => !(m.type === "append" && (m.to === "d" || m.to === "e")); // no auto-promotion
  for (const id of ["d", "e"]) {
    assert.equal(change(c, "a", { type: "addLearner", id, context: "" }).type, "ok");
    c.stabilize();
    c.tick(1);
  }
  assert.deepEqual(c.node("a").status().config, {
    voters: ABC,
    learners: ["d", "e"],
    contexts: { d: "", e: "" },
  });
  const res = c.node("a").proposeBatch([
    { type: "config", data: encodeConfChange({ type: "promote", id: "d" }) },
    { type: "config", data: encodeConfChange({ type: "promote", id: "e" }) },
  ]);
  assert.equal(res.type, "rejected", "{a, b} and {c, d, e} would both be majorities");
  assert.deepEqual(c.node("a").status().config.voters, ABC);
});

Deno.test("§4.1 a new leader changes the configuration only after committing in its term", () => {
  const c = new Cluster(ABC);
  c.node("a").campaign();
  c.drain();
  for (let k = 0; c.node("a").status().role !== "leader"; k++) {
    assert.ok(k < 10);
    c.deliver();
  }
  const res = change(c, "a", { type: "remove", id: "c" });
  assert.equal(res.type, "rejected");
  c.stabilize();
  assert.equal(change(c, "a", { type: "remove", id: "c" }).type, "ok");
});

Deno.test("§4.1 invalid changes are rejected", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  assert.equal(change(c, "a", { type: "addLearner", id: "b", context: "" }).type, "rejected");
  assert.equal(change(c, "a", { type: "promote", id: "b" }).type, "rejected");
  assert.equal(change(c, "a", { type: "remove", id: "zz" }).type, "rejected");
  const malformed = c.node("a").proposeBatch([{ type: "config", data: bytes("{") }]);
  assert.equal(malformed.type, "rejected");
  const single = new Cluster(["a"]);
  single.elect("a");
  assert.equal(change(single, "a", { type: "remove", id: "a" }).type, "rejected");
});

Deno.test("§4.2 remove a follower: the rest commit without it, and it does not disrupt them", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const term = c.node("a").status().term;
  assert.equal(change(c, "a", { type: "remove", id: "c" }).type, "ok");
  c.stabilize();
  c.tick(2);
  for (const id of ["a", "b"]) {
    assert.deepEqual(c.node(id).status().config, { voters: ["a", "b"], learners: [] }, id);
  }
  assert.equal(c.node("a").status().progress?.has("c"), false);
  c.tick(50); // c hears nothing more and times out again and again
  assert.equal(c.node("a").status().role, "leader");
  assert.equal(c.node("a").status().term, term, "c's campaigns were ignored");
  c.isolated.add("c");
  c.commit("a", "without-c");
  assert.deepEqual(c.appliedData("b"), ["without-c"]);
});

Deno.test("§4.2.2 remove the leader: it leads until the change commits, then steps down", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.isolated.add("b");
  assert.equal(change(c, "a", { type: "remove", id: "a" }).type, "ok");
  c.stabilize();
  c.tick(2);
  assert.equal(c.node("a").status().role, "leader", "c alone is not a majority of {b, c}");
  c.isolated.clear();
  c.tick(1);
  c.stabilize();
  assert.equal(c.node("a").status().role, "follower");
  assert.ok(c.applied.get("a")!.entries.some((e) => e.type === "config"), "a applied its removal");
  const sentBefore = c.sent.length;
  c.tick(40);
  const leaders = c.leaders();
  assert.equal(leaders.length, 1);
  assert.notEqual(leaders[0], "a");
  for (const id of ["b", "c"]) {
    assert.deepEqual(c.node(id).status().config, { voters: ["b", "c"], learners: [] }, id);
  }
  const campaigns = c.sent.slice(sentBefore).filter((m) =>
    m.from === "a" && (m.type === "vote" || m.type === "preVote")
  );
  assert.deepEqual(campaigns, [], "a removed server does not campaign");
  c.commit(leaders[0], "after");
  assert.deepEqual(c.appliedData("b"), ["after"]);
});

Deno.test("§4.2.2 a removed leader hands off at once: its successor needs no election timeout", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.commit("a", "before");
  assert.equal(change(c, "a", { type: "remove", id: "a" }).type, "ok");
  c.stabilize(); // no ticks: nobody times out
  assert.equal(c.node("a").status().role, "follower");
  const handOff = c.sent.filter((m) => m.type === "timeoutNow" && m.from === "a");
  assert.deepEqual(handOff.map((m) => m.to), ["b"], "the first caught-up voter");
  assert.deepEqual(c.leaders(), ["b"]);
  c.commit("b", "after");
  for (const id of ["b", "c"]) assert.deepEqual(c.appliedData(id), ["before", "after"], id);
});

Deno.test("§4.1 a configuration takes effect on append and reverts when truncated", () => {
  const c = new Cluster(["a", "b", "c", "d", "e"]);
  c.elect("a");
  c.filter = (m) => !(m.from === "a" && ["c", "d", "e"].includes(m.to));
  assert.equal(change(c, "a", { type: "addLearner", id: "x", context: "" }).type, "ok");
  c.stabilize();
  for (const id of ["a", "b"]) assert.deepEqual(c.node(id).status().config.learners, ["x"], id);
  assert.deepEqual(c.node("c").status().config.learners, []);
  c.filter = () => true;
  c.isolated.add("a").add("b");
  c.tick(30, ["c", "d", "e"]);
  assert.equal(c.leaders().filter((id) => id !== "a").length, 1);
  c.isolated.clear();
  c.tick(3);
  for (const id of ["a", "b"]) {
    assert.deepEqual(c.node(id).status().config.learners, [], `${id}: the change was truncated`);
  }
});
