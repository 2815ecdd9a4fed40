// Leadership transfer (dissertation §3.10): the leader brings the target up to date, then
// sends TimeoutNow; the target campaigns at once and its votes bypass leader leases.

import assert from "node:assert/strict";
import { bytes, Cluster } from "./test_util.ts";

const ABC = ["a", "b", "c"];

Deno.test("§3.10 transfer to an up-to-date follower: TimeoutNow, and the target wins at once", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.commit("a", "x");
  const term = c.node("a").status().term;
  assert.deepEqual(c.node("a").transferLeadership("b"), { type: "ok" });
  c.drain("a");
  assert.equal(c.queued("timeoutNow", "b").length, 1);
  c.stabilize(); // no ticks: nobody waits for an election timeout
  assert.equal(c.node("b").status().role, "leader");
  assert.equal(c.node("b").status().term, term + 1);
  assert.equal(c.node("a").status().role, "follower");
  c.tick(1);
  assert.equal(c.node("a").status().leader, "b");
  c.commit("b", "y");
  assert.deepEqual(c.appliedData("a"), ["x", "y"]);
});

Deno.test("§3.10 the target catches up first, and proposals are refused meanwhile", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.isolated.add("c");
  for (let k = 0; k < 5; k++) c.commit("a", `v${k}`);
  assert.deepEqual(c.appliedData("c"), []);
  assert.deepEqual(c.node("a").transferLeadership("c"), { type: "ok" });
  c.drain("a");
  assert.equal(c.queued("timeoutNow").length, 0, "c is behind: no TimeoutNow yet");
  assert.deepEqual(c.node("a").propose(bytes("during")), { type: "transferring" });
  assert.equal(c.node("b").propose(bytes("fwd")).type, "forwarded");
  c.isolated.clear();
  for (let k = 0; c.node("c").status().role !== "leader"; k++) {
    assert.ok(k < 5, "transfer did not complete");
    c.tick(1, ["a"]); // heartbeats find c behind; appends bring it up to date
  }
  const timeoutNow = c.sent.find((m) => m.type === "timeoutNow")!;
  assert.equal(timeoutNow.to, "c");
  assert.deepEqual(c.appliedData("c"), ["v0", "v1", "v2", "v3", "v4"]);
  assert.ok(!c.appliedData("c").includes("during"));
  assert.ok(!c.appliedData("c").includes("fwd"), "a forwarded proposal is dropped too");
});

Deno.test("§3.10 a transfer that does not finish within an election timeout is abandoned", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.isolated.add("c");
  c.commit("a", "x");
  c.node("a").transferLeadership("c");
  assert.equal(c.node("a").propose(bytes("y")).type, "transferring");
  c.tick(10, ["a"]);
  assert.equal(c.node("a").status().role, "leader");
  assert.equal(c.node("a").propose(bytes("y")).type, "ok");
});

Deno.test("§3.10 transfers are refused to non-voters and by non-leaders", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  assert.equal(c.node("a").transferLeadership("zz").type, "rejected");
  assert.equal(c.node("b").transferLeadership("c").type, "rejected");
  assert.deepEqual(c.node("a").transferLeadership("a"), { type: "ok" }, "already there");
  assert.equal(c.node("a").propose(bytes("x")).type, "ok");
});

Deno.test("§3.10 TimeoutNow makes even a follower hearing its leader campaign, skipping pre-vote", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const term = c.node("a").status().term;
  c.node("b").step({ type: "timeoutNow", from: "a", to: "b", term });
  c.drain("b");
  const votes = c.queued("vote");
  assert.equal(votes.length, 2);
  assert.ok(votes.every((m) => m.type === "vote" && m.transfer && m.term === term + 1));
  assert.equal(c.queued("preVote").length, 0);
});
