// Log replication and commitment: dissertation §3.5, §3.6.2 (Figure 8), §8, §10.2.1, flow
// control and back-pressure.

import assert from "node:assert/strict";
import type { AppendRequest, InitialState, Message, NodeId } from "./types.ts";
import {
  appliedAgree,
  bytes,
  Cluster,
  entriesWithTerms,
  initialState,
  repeat,
} from "./test_util.ts";

const ABC = ["a", "b", "c"];

function appendsTo(msgs: Message[], to: NodeId): AppendRequest[] {
  return msgs.filter((m): m is AppendRequest => m.type === "append" && m.to === to);
}

function logTerms(c: Cluster, id: NodeId): number[] {
  const node = c.node(id);
  const out: number[] = [];
  for (let i = 1; i <= node.status().lastIndex; i++) out.push(node.termAt(i)!);
  return out;
}

Deno.test("§8 a new leader appends a no-op at the start of its term, and everyone commits it", () => {
  const c = new Cluster(ABC);
  c.elect("b");
  const s = c.node("b").status();
  const noop = c.node("b").entryAt(s.lastIndex)!;
  assert.equal(noop.type, "noop");
  assert.equal(noop.term, s.term);
  assert.equal(noop.data.byteLength, 0);
  for (const id of ABC) {
    assert.equal(c.node(id).status().commitIndex, s.lastIndex, id);
    assert.deepEqual(c.applied.get(id)!.entries.map((e) => e.type), ["noop"], id);
  }
});

Deno.test("§3.5 proposals commit and every node applies the same entries in the same order", () => {
  const c = new Cluster(["a", "b", "c", "d", "e"]);
  c.elect("a");
  const want: string[] = [];
  for (let k = 0; k < 20; k++) {
    want.push(`v${k}`);
    assert.equal(c.node("a").propose(bytes(`v${k}`)).type, "ok");
    if (k % 7 === 0) c.stabilize();
  }
  c.stabilize();
  for (const id of c.nodes.keys()) assert.deepEqual(c.appliedData(id), want, id);
  assert.ok(appliedAgree(c));
});

Deno.test("§3.5 a commit survives a minority of followers being down", () => {
  const c = new Cluster(["a", "b", "c", "d", "e"]);
  c.elect("a");
  c.isolated.add("d").add("e");
  c.commit("a", "x");
  assert.deepEqual(c.appliedData("a"), ["x"]);
  assert.deepEqual(c.appliedData("d"), []);
  c.isolated.clear();
  c.tick(2);
  assert.deepEqual(c.appliedData("e"), ["x"], "the lagging follower catches up on heartbeats");
});

Deno.test("§10.2.1 the leader counts itself towards commitment only once its write is durable", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const a = c.node("a");
  const { index } = a.propose(bytes("x")) as { index: number };
  const rd = a.ready(); // appends go out before the leader's own write is durable
  for (const m of appendsTo(rd.messages, "b")) c.node("b").step(m);
  c.drain("b");
  for (const m of c.queue.splice(0)) a.step(m);
  assert.equal(a.status().commitIndex, index - 1, "b alone is not a majority of three");
  a.advance(rd);
  assert.equal(a.status().commitIndex, index, "a's durable write completes the majority");
});

/** Figure 8 (c): s1 leads term 4 and has put term-2 entry 2 on a majority (s1, s2, s3). */
function figure8(commitPreviousTerm: boolean): Cluster {
  const hs = { term: 3, votedFor: null, commitIndex: 1 };
  const at = (terms: number[]): InitialState =>
    initialState(["s1", "s2", "s3", "s4", "s5"], {
      hardState: hs,
      entries: entriesWithTerms(terms),
    });
  const inits = new Map([
    ["s1", at([1, 2])],
    ["s2", at([1])],
    ["s3", at([1])],
    ["s4", at([1])],
    ["s5", at([1, 3])],
  ]);
  const c = new Cluster([...inits.keys()], {
    preVote: false,
    checkQuorum: false,
    maxEntriesPerMessage: 1,
  }, inits);
  c.add("s1", inits.get("s1"), { bugs: { commitPreviousTerm } });
  c.node("s1").campaign();
  c.drain();
  c.deliver(); // vote requests out
  c.deliver(); // votes back: s2, s3, s4 grant; s5's log is more up-to-date
  assert.equal(c.node("s1").status().role, "leader");
  assert.equal(c.node("s1").status().term, 4);
  // Only entry 2 reaches s2 and s3; s4 and s5 hear nothing more from s1. The first probe
  // (prevLogIndex 2, entry 3) gets through: s2 and s3 lack entry 2, so they reject it.
  const far = new Set(["s4", "s5"]);
  const probed = new Set<string>();
  const carriesEntry3 = (m: Message) => m.type === "append" && m.entries.some((e) => e.index >= 3);
  c.filter = (m) => {
    if (far.has(m.to) || far.has(m.from)) return false;
    if (!carriesEntry3(m) || probed.has(m.to)) return !carriesEntry3(m);
    probed.add(m.to);
    return true;
  };
  c.stabilize();
  for (const id of ["s1", "s2", "s3"]) assert.equal(c.node(id).termAt(2), 2, id);
  return c;
}

Deno.test("§3.6.2 Figure 8: a leader never commits a previous-term entry by counting replicas", () => {
  const c = figure8(false);
  assert.equal(
    c.node("s1").status().commitIndex,
    1,
    "entry 2 (term 2) is on 3 of 5 yet uncommitted",
  );
  // s1 crashes; s5 (last term 3) is elected by s2, s3, s4 and overwrites entry 2.
  c.filter = () => true;
  c.isolated.add("s1");
  c.node("s5").campaign();
  c.stabilize();
  assert.equal(c.node("s5").status().role, "leader");
  for (const id of ["s2", "s3", "s4", "s5"]) {
    assert.equal(c.node(id).termAt(2), 3, `${id}: entry 2 was overwritten`);
  }
  assert.ok(appliedAgree(c), "no committed entry was lost");
  assert.ok(!c.applied.get("s1")!.entries.some((e) => e.index === 2), "s1 never applied it");
});

Deno.test("§3.6.2 Figure 8 (teeth): with the planted bug the entry is committed, then lost", () => {
  const c = figure8(true);
  assert.equal(c.node("s1").status().commitIndex, 2);
  assert.equal(c.applied.get("s1")!.entries.find((e) => e.index === 2)?.term, 2);
  c.filter = () => true;
  c.isolated.add("s1");
  c.node("s5").campaign();
  c.stabilize();
  assert.equal(c.node("s5").status().role, "leader");
  assert.equal(appliedAgree(c), false, "State Machine Safety is violated");
});

/** Elects `a` with the given logs (index 1.. terms) and counts b's rejections until it matches. */
function backtrack(
  aTerms: number[],
  bTerms: number[],
  term: number,
): { rejections: number; c: Cluster } {
  const hs = { term, votedFor: null, commitIndex: 10 };
  const a = initialState(ABC, { hardState: hs, entries: entriesWithTerms(aTerms) });
  const b = initialState(ABC, { hardState: hs, entries: entriesWithTerms(bTerms) });
  const c = new Cluster(ABC, {}, new Map([["a", a], ["b", b], ["c", a]]));
  c.elect("a");
  const rejections = c.sent.filter((m) => m.type === "appendResp" && m.from === "b" && !m.success);
  return { rejections: rejections.length, c };
}

Deno.test("§3.5 fast backtracking: a long divergent tail of one term is skipped in one round trip", () => {
  const { rejections, c } = backtrack(
    [...repeat(1, 10), ...repeat(3, 50)],
    [...repeat(1, 10), ...repeat(2, 90)],
    3,
  );
  assert.equal(rejections, 1, "one rejection instead of ~50");
  assert.deepEqual(logTerms(c, "b"), logTerms(c, "a"));
  assert.equal(c.node("b").status().lastIndex, 61);
});

Deno.test("§3.5 fast backtracking: a follower with a higher-term tail converges in two rejections", () => {
  const { rejections, c } = backtrack(
    [...repeat(1, 10), ...repeat(2, 40), ...repeat(4, 10)],
    [...repeat(1, 10), ...repeat(3, 90)],
    4,
  );
  assert.ok(rejections <= 2, `${rejections} rejections`);
  assert.deepEqual(logTerms(c, "b"), logTerms(c, "a"));
});

Deno.test("§3.5 backtracking: a follower with a shorter log is probed from its end", () => {
  const { rejections, c } = backtrack(repeat(1, 60), repeat(1, 10), 1);
  assert.equal(rejections, 1);
  assert.deepEqual(logTerms(c, "b"), logTerms(c, "a"));
});

Deno.test("batching: many proposals before one ready() produce one append per follower", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  for (let k = 0; k < 50; k++) assert.equal(c.node("a").propose(bytes(`p${k}`)).type, "ok");
  c.drain("a");
  for (const id of ["b", "c"]) {
    const appends = appendsTo(c.queue, id);
    assert.equal(appends.length, 1, id);
    assert.equal(appends[0].entries.length, 50, id);
  }
  const batch = c.node("a").proposeBatch([
    { type: "normal", data: bytes("x") },
    { type: "normal", data: bytes("y") },
  ]);
  assert.equal(batch.type, "ok");
  c.stabilize();
  assert.equal(c.appliedData("c").length, 52);
  assert.deepEqual(c.appliedData("c").slice(-2), ["x", "y"]);
});

Deno.test("flow control: the inflight window bounds appends in flight to a follower", () => {
  const c = new Cluster(ABC, { maxInflightAppends: 3, maxEntriesPerMessage: 1 });
  c.elect("a");
  for (let k = 0; k < 12; k++) c.node("a").propose(bytes(`p${k}`));
  c.drain();
  let maxInFlight = 0;
  for (let round = 0; c.queue.length > 0; round++) {
    assert.ok(round < 100);
    const inFlight = appendsTo(c.queue, "b").filter((m) => m.entries.length > 0).length;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const pr = c.node("a").status().progress!.get("b")!;
    assert.ok(pr.inflight <= 3, `inflight ${pr.inflight}`);
    c.deliver();
  }
  assert.equal(maxInFlight, 3, "the window is used fully but never exceeded");
  assert.equal(c.appliedData("b").length, 12);
});

Deno.test("flow control: a follower that stops acking gets no more than the window", () => {
  const c = new Cluster(ABC, { maxInflightAppends: 2, maxEntriesPerMessage: 1 });
  c.elect("a");
  c.filter = (m) => m.from !== "b";
  for (let k = 0; k < 10; k++) {
    c.node("a").propose(bytes(`p${k}`));
    c.stabilize();
  }
  const sent = c.sent.filter((m) => m.type === "append" && m.to === "b" && m.entries.length > 0);
  const afterElection = sent.filter((m) => (m as AppendRequest).entries[0].index > 1);
  assert.equal(afterElection.length, 2);
  assert.deepEqual(c.appliedData("c").length, 10, "c is unaffected");
});

Deno.test("flow control: appends carry at most maxEntriesPerMessage entries", () => {
  const c = new Cluster(ABC, { maxEntriesPerMessage: 4 });
  c.elect("a");
  for (let k = 0; k < 10; k++) c.node("a").propose(bytes(`p${k}`));
  c.stabilize();
  const sizes = c.sent.filter((m): m is AppendRequest => m.type === "append").map((m) =>
    m.entries.length
  );
  assert.ok(sizes.every((n) => n <= 4), `${sizes}`);
  assert.ok(sizes.includes(4));
  assert.equal(c.appliedData("b").length, 10);
});

Deno.test("flow control: appends carry at most maxBytesPerMessage bytes, but always one entry", () => {
  const c = new Cluster(ABC, { maxBytesPerMessage: 100 });
  c.elect("a");
  for (let k = 0; k < 10; k++) c.node("a").propose(bytes("x".repeat(30)));
  c.node("a").propose(bytes("y".repeat(500)));
  c.stabilize();
  const appends = c.sent.filter((m): m is AppendRequest => m.type === "append");
  for (const m of appends) {
    const size = m.entries.reduce((s, e) => s + e.data.byteLength, 0);
    assert.ok(size <= 100 || m.entries.length === 1, `${m.entries.length} entries, ${size} B`);
  }
  assert.ok(appends.some((m) => m.entries.length === 3), "3 × 30 B fit, 4 do not");
  assert.ok(appends.some((m) => m.entries.some((e) => e.data.byteLength === 500)));
  assert.equal(c.appliedData("b").length, 11);
});

Deno.test("back-pressure: proposals beyond maxUncommittedBytes are refused as overloaded", () => {
  const c = new Cluster(ABC, { maxUncommittedBytes: 100 });
  c.elect("a");
  const a = c.node("a");
  c.isolated.add("b").add("c"); // nothing commits
  assert.equal(a.propose(bytes("x".repeat(60))).type, "ok");
  assert.equal(a.propose(bytes("x".repeat(60))).type, "overloaded");
  assert.equal(a.propose(bytes("x".repeat(40))).type, "ok", "exactly at the cap");
  assert.equal(a.propose(bytes("x")).type, "overloaded");
  assert.equal(
    a.proposeBatch([{ type: "normal", data: bytes("x") }, { type: "normal", data: bytes("y") }])
      .type,
    "overloaded",
  );
  c.stabilize();
  c.isolated.clear();
  c.tick(2);
  assert.equal(c.appliedData("a").length, 2);
  assert.equal(a.propose(bytes("x".repeat(60))).type, "ok", "commitment frees the budget");
});

Deno.test("back-pressure: a single proposal larger than the cap is accepted when nothing is pending", () => {
  const c = new Cluster(ABC, { maxUncommittedBytes: 100 });
  c.elect("a");
  assert.equal(c.node("a").propose(bytes("x".repeat(500))).type, "ok");
  assert.equal(c.node("a").propose(bytes("y")).type, "overloaded");
});

Deno.test("proposals on a follower are forwarded to the leader and committed", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  assert.deepEqual(c.node("b").propose(bytes("via-b")), { type: "forwarded", to: "a" });
  c.stabilize();
  for (const id of ABC) assert.deepEqual(c.appliedData(id), ["via-b"], id);
});

Deno.test("proposals without a known leader answer noLeader; a stray forwarded one is dropped", () => {
  const c = new Cluster(ABC);
  assert.deepEqual(c.node("a").propose(bytes("x")), { type: "noLeader" });
  assert.deepEqual(c.node("a").proposeBatch([]).type, "rejected");
  c.elect("a");
  const b = c.node("b");
  const before = b.status().lastIndex;
  b.step({
    type: "propose",
    from: "c",
    to: "b",
    term: 1,
    entries: [{ type: "normal", data: bytes("x") }],
  });
  assert.equal(b.status().lastIndex, before);
  assert.equal(b.hasReady(), false);
});

Deno.test("§3.5 a stale leader's append is answered with the current term, and it steps down", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  c.isolated.add("a");
  c.tick(25, ["b", "c"]);
  const newLeader = c.leaders().find((id) => id !== "a")!;
  assert.ok(newLeader);
  c.node("a").propose(bytes("lost"));
  c.isolated.clear();
  c.stabilize();
  assert.equal(c.node("a").status().role, "follower");
  c.tick(2);
  assert.equal(c.node("a").status().leader, newLeader);
  assert.ok(!c.appliedData("a").includes("lost"));
  assert.ok(appliedAgree(c));
});

function ack(from: NodeId, term: number, matchIndex: number): Message {
  return {
    type: "appendResp",
    from,
    to: "a",
    term,
    success: true,
    matchIndex,
    rejectIndex: 0,
    hintIndex: 0,
    hintTerm: 0,
  };
}

Deno.test("§10.2.1 a leader's write in flight: it counts itself only once persisted", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const a = c.node("a");
  const { term, commitIndex: before } = a.status();
  assert.ok(a.mayOverlapWrite({ term, votedFor: "a", commitIndex: 0 }));
  assert.ok(
    !a.mayOverlapWrite({ term: term - 1, votedFor: null, commitIndex: 0 }),
    "vote unwritten",
  );
  a.propose(bytes("x"));
  const rd = a.ready();
  const e = rd.entries.at(-1)!;
  assert.equal(appendsTo(rd.messages, "b").length, 1, "appends leave with the Ready");
  a.advance(rd, false); // the write is still in flight
  assert.equal(a.hasReady(), false, "the entry is not handed out twice");
  a.step(ack("b", term, e.index));
  assert.equal(a.status().commitIndex, before, "one follower plus an unwritten leader: no quorum");
  assert.equal(a.hasReady(false), false);
  a.persisted(e.index, e.term);
  assert.equal(a.status().commitIndex, e.index);
  // While another write would be in flight, the shell takes apply-only Readies.
  assert.equal(a.hasReady(false), true);
  const applyOnly = a.ready(false);
  assert.deepEqual(applyOnly.committedEntries.map((x) => x.index), [e.index]);
  assert.deepEqual([applyOnly.messages, applyOnly.entries, applyOnly.hardState], [[], [], null]);
  a.advance(applyOnly);
  // The commit broadcast waits for the next full Ready.
  const full = a.ready();
  assert.equal(appendsTo(full.messages, "b").at(-1)?.commitIndex, e.index);
  a.advance(full);
});

Deno.test("§10.2.1 both followers' acknowledgements commit without the leader's own write", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const a = c.node("a");
  const term = a.status().term;
  a.propose(bytes("y"));
  const rd = a.ready();
  const e = rd.entries.at(-1)!;
  a.advance(rd, false);
  a.step(ack("b", term, e.index));
  a.step(ack("c", term, e.index));
  assert.equal(a.status().commitIndex, e.index, "a majority has it on disk: committed");
  const applyOnly = a.ready(false);
  assert.deepEqual(applyOnly.committedEntries.map((x) => x.index), [e.index]);
  a.advance(applyOnly);
  a.persisted(e.index, e.term);
  assert.equal(a.status().progress?.get("a")?.matchIndex, e.index);
});

Deno.test("§10.2.1 a follower applies what is committed while its own write is in flight; its ack waits", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const [a, b] = [c.node("a"), c.node("b")];
  const term = a.status().term;
  a.propose(bytes("z"));
  const lead = a.ready();
  const append = appendsTo(lead.messages, "b")[0];
  a.advance(lead);
  b.step(append);
  const rd = b.ready();
  const e = rd.entries.at(-1)!;
  assert.equal(rd.messages.find((m) => m.type === "appendResp")?.to, "a", "b's ack, held");
  assert.ok(b.mayOverlapWrite({ term, votedFor: "a", commitIndex: 0 }));
  b.advance(rd, false); // b's write is in flight
  // a and c have it on disk: committed; a's next append tells b.
  a.step(ack("c", term, e.index));
  assert.equal(a.status().commitIndex, e.index);
  const commit = appendsTo(a.ready().messages, "b").at(-1)!;
  b.step(commit);
  assert.equal(b.hasReady(false), true);
  const applyOnly = b.ready(false);
  assert.deepEqual(applyOnly.committedEntries.map((x) => x.index), [e.index]);
  assert.deepEqual(applyOnly.messages, [], "the ack for the second append waits too");
  b.advance(applyOnly);
  assert.equal(b.hasReady(false), false);
  b.persisted(e.index, e.term);
  const full = b.ready();
  assert.deepEqual(full.entries, [], "nothing is written twice");
  assert.deepEqual(full.messages, [], "the commit broadcast needs no answer");
});

Deno.test("§10.2.1 a snapshot arriving during a write in flight waits for a full Ready", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const b = c.node("b");
  const term = b.status().term;
  b.step({
    type: "append",
    from: "a",
    to: "b",
    term,
    prevLogIndex: b.status().lastIndex,
    prevLogTerm: term,
    entries: [{ term, index: b.status().lastIndex + 1, type: "normal", data: bytes("w") }],
    commitIndex: b.status().commitIndex,
  });
  const rd = b.ready();
  const e = rd.entries.at(-1)!;
  b.advance(rd, false);
  const meta = { index: e.index + 5, term, config: b.status().config };
  b.step({ type: "snapshot", from: "a", to: "b", term, snapshot: { meta, data: bytes("s") } });
  assert.ok(b.status().commitIndex > b.status().lastApplied, "the snapshot moved commitIndex");
  assert.equal(b.hasReady(false), false, "no apply-only Ready past a snapshot to install");
  assert.equal(b.mayOverlapWrite({ term, votedFor: "a", commitIndex: 0 }), false);
  b.persisted(e.index, e.term);
  const full = b.ready();
  assert.equal(full.snapshot?.meta.index, meta.index);
  b.advance(full);
  assert.equal(b.status().lastApplied, meta.index);
});

Deno.test("a commit broadcast at an acknowledged match is not answered; every other append is", () => {
  const c = new Cluster(ABC);
  c.elect("a");
  const [a, b] = [c.node("a"), c.node("b")];
  const term = a.status().term;
  const answers = (m: AppendRequest) => {
    b.step(m);
    const rd = b.ready();
    b.advance(rd);
    return rd.messages.filter((x) => x.type === "appendResp");
  };
  a.propose(bytes("p"));
  const lead = a.ready();
  a.advance(lead);
  const withEntries = appendsTo(lead.messages, "b")[0];
  assert.equal(answers(withEntries).length, 1, "entries are acknowledged");
  a.step(ack("b", term, withEntries.prevLogIndex + 1));
  const commitOnly = appendsTo(a.ready().messages, "b").at(-1)!;
  assert.deepEqual([commitOnly.entries.length, commitOnly.commitIndex > 0], [0, true]);
  assert.deepEqual(answers(commitOnly), [], "a commit at a match the leader was told");
  // The same append again (no new commitIndex, e.g. the leader repairing a lost ack): answered.
  const again = answers(commitOnly);
  assert.equal(again.length, 1);
  assert.equal(again[0].type === "appendResp" && again[0].matchIndex, commitOnly.prevLogIndex);
});
