// Leader election: Raft dissertation §3.4, §3.6.1, §4.2.3, §6.2, §9.6.

import assert from "node:assert/strict";
import { RaftNode } from "./node.ts";
import type { Message, NodeId, RaftConfig, VoteResponse } from "./types.ts";
import {
  Cluster,
  drainNode,
  entriesWithTerms,
  initialState,
  makeConfig,
  mulberry32,
  outbox,
  voteRequest,
} from "./test_util.ts";

const ABC = ["a", "b", "c"];

function lone(id: NodeId, overrides: Partial<RaftConfig> = {}, init = initialState(ABC)): RaftNode {
  return new RaftNode(makeConfig(id, overrides), init);
}

/** Ticks until the node sends its first vote or pre-vote; returns the tick count. */
function ticksUntilCampaign(node: RaftNode, limit = 100): { ticks: number; first: Message } {
  for (let t = 1; t <= limit; t++) {
    node.tick();
    const sent = outbox(node).filter((m) => m.type === "vote" || m.type === "preVote");
    if (sent.length > 0) return { ticks: t, first: sent[0] };
  }
  throw new Error("never campaigned");
}

function voteResp(msgs: Message[]): VoteResponse | undefined {
  return msgs.find((m): m is VoteResponse => m.type === "voteResp" || m.type === "preVoteResp");
}

Deno.test("§3.4 a follower that hears nothing campaigns after its randomized election timeout", () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 30; seed++) {
    const node = lone("a", { random: mulberry32(seed) });
    const { ticks, first } = ticksUntilCampaign(node);
    assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks} outside [10, 20)`);
    assert.equal(first.type, "preVote");
    seen.add(ticks);
  }
  assert.ok(seen.size >= 5, `timeouts are not spread out: ${[...seen]}`);
});

Deno.test("§3.4 without pre-vote, a timed-out follower becomes candidate in a new term", () => {
  const node = lone("a", { preVote: false });
  const { first } = ticksUntilCampaign(node);
  assert.equal(first.type, "vote");
  assert.equal(first.term, 1);
  assert.equal(node.status().role, "candidate");
  assert.equal(node.status().votedFor, "a", "a candidate votes for itself");
});

Deno.test("§3.4 randomized timeouts elect exactly one leader, at most one per term", () => {
  const c = new Cluster(["a", "b", "c", "d", "e"]);
  const leaderOfTerm = new Map<number, NodeId>();
  let ticks = 0;
  while (c.leaders().length === 0) {
    assert.ok(++ticks < 60, "no leader after 60 ticks");
    c.tick(1);
    for (const id of c.leaders()) {
      const term = c.node(id).status().term;
      assert.equal(leaderOfTerm.get(term) ?? id, id, `two leaders in term ${term}`);
      leaderOfTerm.set(term, id);
    }
  }
  c.tick(2);
  const [leader] = c.leaders();
  assert.equal(c.leaders().length, 1);
  for (const id of c.nodes.keys()) {
    assert.equal(c.node(id).status().leader, leader, `${id} does not follow ${leader}`);
  }
});

Deno.test("§3.4 a single-voter cluster elects itself at once", () => {
  const c = new Cluster(["a"]);
  c.elect("a");
  assert.equal(c.node("a").status().term, 1);
  assert.equal(c.commit("a", "x"), 2, "index 1 is the no-op");
  assert.deepEqual(c.appliedData("a"), ["x"]);
});

Deno.test("§3.4 a node grants at most one vote per term, and persists it before answering", () => {
  const b = lone("b");
  b.step(voteRequest("a", "b", 1, { index: 0, term: 0 }));
  const readies = drainNode(b);
  const granted = voteResp(readies.flatMap((rd) => rd.messages));
  assert.equal(granted?.granted, true);
  assert.equal(granted?.term, 1);
  const withMsg = readies.find((rd) => rd.messages.length > 0)!;
  assert.deepEqual(withMsg.hardState, { term: 1, votedFor: "a", commitIndex: 0 }, "same Ready");

  b.step(voteRequest("c", "b", 1, { index: 0, term: 0 }));
  assert.equal(voteResp(outbox(b))?.granted, false, "second candidate in the same term");
  b.step(voteRequest("a", "b", 1, { index: 0, term: 0 }));
  assert.equal(voteResp(outbox(b))?.granted, true, "a retransmitted request is granted again");
  b.step(voteRequest("c", "b", 2, { index: 0, term: 0 }));
  assert.equal(voteResp(outbox(b))?.granted, true, "a new term brings a new vote");
  assert.equal(b.status().votedFor, "c");
});

Deno.test("§3.6.1 a vote is denied to a candidate whose log is less up-to-date", () => {
  const init = initialState(ABC, {
    hardState: { term: 2, votedFor: null, commitIndex: 0 },
    entries: entriesWithTerms([1, 2]),
  });
  const b = lone("b", {}, init);
  b.step(voteRequest("a", "b", 3, { index: 5, term: 1 }));
  assert.equal(voteResp(outbox(b))?.granted, false, "lower last term, longer log");
  b.step(voteRequest("a", "b", 3, { index: 1, term: 2 }));
  assert.equal(voteResp(outbox(b))?.granted, false, "same last term, shorter log");
  assert.equal(b.status().votedFor, null, "a denied vote is not recorded");
  b.step(voteRequest("c", "b", 3, { index: 2, term: 2 }));
  assert.equal(voteResp(outbox(b))?.granted, true, "equally up-to-date");

  const pre = lone("b", {}, init);
  pre.step(voteRequest("a", "b", 3, { index: 9, term: 1 }, { pre: true }));
  assert.equal(voteResp(outbox(pre))?.granted, false, "pre-votes check the log too");

  // The planted bug proves this test can fail.
  const buggy = lone("b", { bugs: { skipLogCheckOnVote: true } }, init);
  buggy.step(voteRequest("a", "b", 3, { index: 5, term: 1 }));
  assert.equal(voteResp(outbox(buggy))?.granted, true);
});

Deno.test("§9.6 a pre-vote changes neither the voter's term nor its vote", () => {
  const b = lone("b");
  b.step(voteRequest("a", "b", 1, { index: 0, term: 0 }, { pre: true }));
  const resp = voteResp(outbox(b));
  assert.equal(resp?.type, "preVoteResp");
  assert.equal(resp?.granted, true);
  assert.equal(resp?.term, 1, "answered in the term the candidate would campaign in");
  assert.equal(b.status().term, 0);
  assert.equal(b.status().votedFor, null);
});

Deno.test("§9.6 a partitioned node does not bump its term and rejoins without disrupting the leader", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const term = c.node("a").status().term;
  c.isolated.add("c");
  c.tick(100, ["c"]);
  assert.equal(c.node("c").status().term, term, "pre-vote kept c's term");
  c.isolated.clear();
  c.tick(3);
  for (const id of ABC) {
    assert.equal(c.node(id).status().term, term, id);
    assert.equal(c.node(id).status().leader, "a", id);
  }
  assert.equal(c.commit("a", "after"), 2, "index 1 is the no-op");
});

Deno.test("§9.6 (contrast) without pre-vote the rejoining node's higher term deposes the leader", () => {
  const c = new Cluster(ABC, { preVote: false });
  c.elect("a");
  const term = c.node("a").status().term;
  c.isolated.add("c");
  c.tick(100, ["c"]);
  assert.ok(c.node("c").status().term > term + 3);
  c.isolated.clear();
  c.tick(1, ["a"]);
  assert.notEqual(c.node("a").status().role, "leader", "the stale-term reply deposed a");
});

Deno.test("§6.2 check-quorum: a leader that hears no majority for an election timeout steps down", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.tick(30, ["a"]);
  assert.equal(c.node("a").status().role, "leader", "a connected leader stays");
  c.isolated.add("a");
  c.tick(9, ["a"]);
  assert.equal(c.node("a").status().role, "leader", "not before an election timeout");
  c.tick(11, ["a"]);
  assert.equal(c.node("a").status().role, "follower");
  assert.equal(c.node("a").status().leader, null);
});

Deno.test("§6.2 check-quorum counts voters only: a leader with only a learner's acks steps down", () => {
  const c = new Cluster(["a", "b"]);
  c.elect("a");
  c.add("l", initialState(["a", "b"]));
  c.filter = (m) => !(m.type === "append" && m.to === "l"); // l never catches up: stays a learner
  assert.equal(
    c.node("a").proposeConfChange({ type: "addLearner", id: "l", context: "" }).type,
    "ok",
  );
  c.stabilize();
  c.tick(2);
  assert.deepEqual(c.node("a").status().config.learners, ["l"]);
  assert.equal(c.node("a").status().progress?.get("l")?.recentActive, true, "l acks heartbeats");
  c.filter = (m) => !(m.type === "append" && m.to === "l") && m.from !== "b" && m.to !== "b";
  c.tick(25, ["a", "l"]);
  assert.equal(c.node("a").status().role, "follower");
});

Deno.test("§4.2.3 votes are withheld while a live leader is heard, but granted for a transfer", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const term = c.node("a").status().term;
  const last = { index: c.node("c").status().lastIndex, term };
  const b = c.node("b");
  b.step(voteRequest("c", "b", term + 1, last));
  b.step(voteRequest("c", "b", term + 1, last, { pre: true }));
  assert.deepEqual(outbox(b), [], "ignored, not even rejected");
  assert.equal(b.status().term, term);
  b.step(voteRequest("c", "b", term + 1, last, { transfer: true }));
  const resp = voteResp(outbox(b));
  assert.equal(resp?.granted, true, "a transfer bypasses the lease (§3.10)");
  assert.equal(b.status().term, term + 1);
});

Deno.test("§4.2.3 once the leader has been silent for an election timeout, votes are granted", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const term = c.node("a").status().term;
  const last = { index: c.node("c").status().lastIndex, term };
  c.isolated.add("b");
  c.tick(10, ["b"]);
  const b = c.node("b");
  b.step(voteRequest("c", "b", term + 1, last));
  assert.equal(voteResp(outbox(b))?.granted, true);
});

Deno.test("§3.4 a candidate that loses a majority of votes returns to follower", () => {
  const init = initialState(ABC, {
    hardState: { term: 1, votedFor: null, commitIndex: 0 },
    entries: entriesWithTerms([1]),
  });
  const c = new Cluster(ABC, { preVote: false }, new Map([["c", init], ["b", init]]));
  c.node("a").campaign(); // a's log is empty: b and c refuse
  c.stabilize();
  assert.equal(c.node("a").status().role, "follower");
  assert.equal(c.node("a").status().term, 1);
  assert.ok(c.sent.some((m) => m.type === "voteResp" && !m.granted));
});
