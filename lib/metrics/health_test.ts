import assert from "node:assert/strict";
import type { RaftStatus } from "../raft/mod.ts";
import type { PeerStatus } from "../transport/mod.ts";
import { type HealthLimits, healthReasons } from "./health.ts";

const LIMITS: HealthLimits = { lagMax: 100, contactMaxMs: 1000 };

function status(over: Partial<RaftStatus>): RaftStatus {
  return {
    id: "a",
    role: "follower",
    term: 3,
    votedFor: null,
    leader: "b",
    commitIndex: 10,
    lastApplied: 10,
    lastIndex: 10,
    snapshotIndex: 0,
    config: { voters: ["a", "b", "c"], learners: [] },
    progress: null,
    ...over,
  };
}

function peers(entries: [string, boolean, number | null][]): Map<string, PeerStatus> {
  return new Map(
    entries.map(([id, connected, lastContactMs]) => [id, { connected, lastContactMs }]),
  );
}

Deno.test("a follower in touch with its leader and caught up is healthy", () => {
  const input = { status: status({}), appliedIndex: 10, peers: peers([["b", true, 20]]) };
  assert.deepEqual(healthReasons(input, LIMITS), []);
});

Deno.test("no leader names the role and term (pre-vote shows as candidate)", () => {
  const input = {
    status: status({ leader: null, role: "preCandidate", term: 7 }),
    appliedIndex: 10,
    peers: peers([]),
  };
  assert.deepEqual(healthReasons(input, LIMITS), [
    "no leader is known (this node is a candidate in term 7)",
  ]);
});

Deno.test("a follower without a link to, or word from, its leader says so", () => {
  const down = { status: status({}), appliedIndex: 10, peers: peers([["b", false, 20]]) };
  assert.deepEqual(healthReasons(down, LIMITS), ["no link to the leader b"]);
  const quiet = { status: status({}), appliedIndex: 10, peers: peers([["b", true, 1500.4]]) };
  assert.deepEqual(healthReasons(quiet, LIMITS), ["nothing heard from the leader b for 1500 ms"]);
  // Without a contact limit only the link counts.
  assert.deepEqual(healthReasons(quiet, { ...LIMITS, contactMaxMs: null }), []);
});

Deno.test("a leader that reaches no quorum of voters is unhealthy", () => {
  const leader = status({ leader: "a", role: "leader" });
  const alone = {
    status: leader,
    appliedIndex: 10,
    peers: peers([["b", false, null], ["c", true, 5000]]),
  };
  assert.deepEqual(healthReasons(alone, LIMITS), ["the leader reaches 1 of 3 voters (quorum 2)"]);
  const ok = {
    status: leader,
    appliedIndex: 10,
    peers: peers([["b", false, null], ["c", true, 10]]),
  };
  assert.deepEqual(healthReasons(ok, LIMITS), []);
});

Deno.test("apply lag beyond the limit is reported alongside other reasons", () => {
  const input = {
    status: status({ commitIndex: 500 }),
    appliedIndex: 300,
    peers: peers([["b", false, null]]),
  };
  assert.deepEqual(healthReasons(input, LIMITS), [
    "no link to the leader b",
    "applied index lags commit index by 200",
  ]);
});
