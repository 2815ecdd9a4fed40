// Pure unit tests of the etcd side: status parsing, leader agreement, command line and
// timing. No etcd is started here (nor anywhere in the tests).

import assert from "node:assert/strict";
import { agreeOnEtcdLeader, type EtcdStatus, parseEtcdStatus } from "./etcd.ts";
import { etcdArgs, etcdTiming } from "./etcd_cluster.ts";

// As etcd 3.4.23's gateway answered POST /v3/maintenance/status (trimmed).
const LEADER_BODY = {
  header: { cluster_id: "15276262748873838274", member_id: "13510015062231200447" },
  version: "3.4.23",
  leader: "13510015062231200447",
  raftTerm: "2",
};

Deno.test("etcd status: member, leader and term from the gateway's JSON", () => {
  assert.deepEqual(parseEtcdStatus(LEADER_BODY), {
    memberId: "13510015062231200447",
    leader: "13510015062231200447",
    term: 2,
  });
  // No leader: the gateway leaves the zero value out.
  const { leader: _, ...leaderless } = LEADER_BODY;
  assert.equal(parseEtcdStatus(leaderless)?.leader, null);
  assert.equal(parseEtcdStatus({ error: "x" }), null);
  assert.equal(parseEtcdStatus({ ...LEADER_BODY, raftTerm: "1e400" }), null);
});

const E = ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"];

function status(memberId: string, leader: string | null, term = 2): EtcdStatus {
  return { memberId, leader, term };
}

Deno.test("etcd leader: all agree and the leader confirms; its endpoint is its client", () => {
  const all = [status("a", "b"), status("b", "b"), status("c", "b")];
  assert.deepEqual(agreeOnEtcdLeader(E, all, true), { id: "b", client: E[1], term: 2 });
  assert.equal(agreeOnEtcdLeader(E, [all[0], all[1], status("c", "a")], true), null);
  assert.equal(agreeOnEtcdLeader(E, [all[0], all[1], status("c", "b", 3)], true), null);
  assert.equal(agreeOnEtcdLeader(E, [all[0], all[1], status("c", null)], true), null);
});

Deno.test("etcd leader: silent members count only when all are required", () => {
  const partial = [status("a", "b"), status("b", "b"), null];
  assert.equal(agreeOnEtcdLeader(E, partial, true), null);
  assert.equal(agreeOnEtcdLeader(E, partial, false)?.client, E[1]);
  // The leader itself silent: its URL is unknown, so no leader.
  assert.equal(agreeOnEtcdLeader(E, [status("a", "b"), null, status("c", "b")], false), null);
  assert.equal(agreeOnEtcdLeader(E, [null, null, null], false), null);
});

Deno.test("etcd timing: its defaults alone, raftkv's knobs mapped when given", () => {
  const none = { tickMs: null, electionTicks: null };
  assert.deepEqual(etcdTiming(none), { heartbeatMs: 100, electionTimeoutMs: 1000 });
  assert.deepEqual(etcdTiming({ tickMs: 50, electionTicks: 10 }), {
    heartbeatMs: 50,
    electionTimeoutMs: 500,
  });
  // One knob: the other is raftkv's default (tickMs 50, electionTicks 10).
  assert.deepEqual(etcdTiming({ tickMs: 20, electionTicks: null }), {
    heartbeatMs: 20,
    electionTimeoutMs: 200,
  });
  assert.deepEqual(etcdTiming({ tickMs: null, electionTicks: 6 }), {
    heartbeatMs: 50,
    electionTimeoutMs: 300,
  });
});

Deno.test("etcd args: loopback URLs, static initial cluster, own data dir", () => {
  const members = [1, 2, 3].map((i) => ({
    id: `e${i}`,
    client: `http://127.0.0.1:${100 + i}`,
    peer: `http://127.0.0.1:${200 + i}`,
    dataDir: `/tmp/x/e${i}`,
  }));
  const args = etcdArgs(members[1], members, "tok", { heartbeatMs: 50, electionTimeoutMs: 500 });
  assert.ok(args.includes("--name=e2"));
  assert.ok(args.includes("--data-dir=/tmp/x/e2"));
  assert.ok(args.includes("--listen-client-urls=http://127.0.0.1:102"));
  assert.ok(args.includes("--listen-peer-urls=http://127.0.0.1:202"));
  assert.ok(args.includes(
    "--initial-cluster=e1=http://127.0.0.1:201,e2=http://127.0.0.1:202,e3=http://127.0.0.1:203",
  ));
  assert.ok(args.includes("--initial-cluster-token=tok"));
  assert.ok(args.includes("--heartbeat-interval=50"));
  assert.ok(args.includes("--election-timeout=500"));
});
