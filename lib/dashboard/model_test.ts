import assert from "node:assert/strict";
import { dashboardModel, type MemberStatus, type NodeStatus, type Poll } from "./model.ts";

const model = dashboardModel();
const IDS = ["n1", "n2", "n3"];
const client = (id: string) => `http://127.0.0.1:700${id.slice(1)}`;

/** `id`'s status; the leader's members carry matchIndex and link facts. */
function status(id: string, role: string, term: number, leader: string | null, extra: {
  lastLogIndex?: number;
  members?: Partial<Record<string, Partial<MemberStatus>>>;
} = {}): NodeStatus {
  return {
    id,
    role,
    term,
    leader: leader === null ? null : { id: leader, client: client(leader) },
    commitIndex: 10,
    appliedIndex: 10,
    lastLogIndex: extra.lastLogIndex ?? 10,
    members: IDS.map((m) => ({
      id: m,
      client: client(m),
      voter: true,
      matchIndex: role === "leader" ? 10 : null,
      connected: true,
      lastContactMs: m === id ? 0 : 12,
      ...extra.members?.[m],
    })),
  };
}

function ok(id: string, s: NodeStatus, url = `${client(id)}/v1/status`): Poll {
  return { id, url, status: s, error: null, latencyMs: 3 };
}

function down(id: string): Poll {
  return {
    id,
    url: `${client(id)}/v1/status`,
    status: null,
    error: "unreachable",
    latencyMs: null,
  };
}

Deno.test("the first poll of the origin learns its id and every member to poll", () => {
  const state = model.newState();
  const first: Poll = {
    id: null,
    url: "/v1/status",
    status: status("n1", "follower", 2, "n2"),
    error: null,
    latencyMs: 1,
  };
  model.retarget(state, [first]);
  assert.equal(state.originId, "n1");
  assert.deepEqual(state.targets, {
    n1: "/v1/status",
    n2: "http://127.0.0.1:7002/v1/status",
    n3: "http://127.0.0.1:7003/v1/status",
  });
  // Only followers answered: no leader on the page yet, and that is not a "change".
  const view = model.fold(state, [first], 1000);
  assert.equal(view.leader, null);
  assert.deepEqual(view.changes, []);
});

Deno.test("rows show each member's own indexes and the leader's view of it", () => {
  const state = model.newState();
  state.originId = "n1";
  const leader = status("n2", "leader", 4, "n2", {
    lastLogIndex: 12,
    members: { n3: { matchIndex: 7, connected: false, lastContactMs: 900 } },
  });
  const view = model.fold(state, [
    ok("n1", status("n1", "follower", 4, "n2"), "/v1/status"),
    ok("n2", leader),
    down("n3"),
  ], 5000);
  assert.deepEqual(view.leader, { id: "n2", term: 4, client: client("n2") });
  assert.equal(view.reachable, 2);
  assert.deepEqual(view.rows.map((r) => [r.id, r.role, r.isLeader, r.isOrigin]), [
    ["n1", "follower", false, true],
    ["n2", "leader", true, false],
    ["n3", "unreachable", false, false],
  ]);
  const n3 = view.rows[2];
  assert.equal(n3.matchIndex, 7);
  assert.equal(n3.matchLag, 5);
  assert.equal(n3.connected, false);
  assert.equal(n3.lastContactMs, 900);
  assert.equal(n3.term, null);
  assert.equal(n3.error, "unreachable");
  assert.equal(view.rows[1].connected, true, "the leader itself");
  assert.deepEqual(view.changes, [{ atMs: 5000, leader: "n2", term: 4 }]);
});

Deno.test("of two nodes claiming to lead, the higher term wins", () => {
  const state = model.newState();
  const view = model.fold(state, [
    ok("n1", status("n1", "leader", 3, "n1")),
    ok("n2", status("n2", "follower", 5, "n3")),
    ok("n3", status("n3", "leader", 5, "n3")),
  ], 1);
  assert.equal(view.leader?.id, "n3");
  assert.equal(view.rows.find((r) => r.id === "n1")?.role, "leader", "its own claim is shown");
});

Deno.test("leader changes are listed newest first: loss, then the new leader", () => {
  const state = model.newState();
  model.fold(state, [ok("n1", status("n1", "leader", 2, "n1"))], 100);
  model.fold(state, [ok("n1", status("n1", "leader", 2, "n1"))], 600);
  model.fold(state, [down("n1"), ok("n2", status("n2", "candidate", 3, null))], 1100);
  const view = model.fold(state, [down("n1"), ok("n2", status("n2", "leader", 3, "n2"))], 1600);
  assert.deepEqual(view.changes, [
    { atMs: 1600, leader: "n2", term: 3 },
    { atMs: 1100, leader: null, term: 2 },
    { atMs: 100, leader: "n1", term: 2 },
  ]);
  assert.equal(view.rows.find((r) => r.id === "n1")?.reachable, false);
});

Deno.test("the list of leader changes is bounded", () => {
  const state = model.newState();
  for (let term = 1; term <= 30; term++) {
    model.fold(state, [ok("n1", status("n1", "leader", term, "n1"))], term);
  }
  assert.equal(state.changes.length, 20);
  assert.equal(state.changes[0].term, 30);
});

Deno.test("with no answer at all the page keeps polling the members it knew", () => {
  const state = model.newState();
  model.retarget(state, [ok("n1", status("n1", "follower", 1, null), "/v1/status")]);
  const before = { ...state.targets };
  model.retarget(state, [down("n1"), down("n2"), down("n3")]);
  assert.deepEqual(state.targets, before);
  const view = model.fold(state, [down("n1"), down("n2"), down("n3")], 1);
  assert.equal(view.rows.length, 3);
  assert.ok(view.rows.every((r) => r.role === "unreachable"));
});

Deno.test("the model's source is self-contained: it runs from its text alone", () => {
  const rebuilt = new Function(`return (${dashboardModel.toString()})();`)() as typeof model;
  const state = rebuilt.newState();
  const view = rebuilt.fold(state, [ok("n1", status("n1", "leader", 2, "n1"))], 7);
  assert.equal(view.leader?.id, "n1");
});

Deno.test("the feed resumes right after the last revision it showed, or starts live", () => {
  assert.equal(model.watchQuery({ lastRev: null }), "");
  assert.equal(model.watchQuery({ lastRev: 41 }), "?fromRevision=42");
});

Deno.test("a watch whose history is gone (410) restarts live with a note, not a resume", () => {
  const gone = JSON.stringify({ type: "error", status: 410, reason: "behind", oldestRevision: 9 });
  assert.equal(model.isGone(gone), true);
  assert.equal(model.isGone(JSON.stringify({ type: "error", status: 503 })), false);
  assert.equal(model.isGone("not json"), false);
  assert.equal(model.isGone("null"), false);
  const feed = { lastRev: 41 };
  const note = model.restartLive(feed, "n2");
  assert.equal(feed.lastRev, null);
  assert.equal(model.watchQuery(feed), "", "the next stream is live: no fromRevision");
  assert.match(note, /after revision 41/);
  assert.match(note, /n2 no longer keeps/);
  // And so in the page, whose copy is the model's source text.
  const rebuilt = new Function(`return (${dashboardModel.toString()})();`)() as typeof model;
  const copy = { lastRev: 7 };
  rebuilt.restartLive(copy, "n1");
  assert.equal(rebuilt.watchQuery(copy), "");
});
