// NodeMetrics over three in-memory replicas (real timers, fast ticks): the hooks, decorators
// and scrape-time gauges together, read back through the exposition text.

import assert from "node:assert/strict";
import { Replica } from "../replica/replica.ts";
import { openTestReplica } from "../replica/test_cluster.ts";
import { MemoryStorage } from "../storage/mod.ts";
import { MemoryNetwork, type MemoryTransport } from "../transport/mod.ts";
import { NodeMetrics } from "./node.ts";

const IDS = ["a", "b", "c"];

interface Node {
  replica: Replica;
  metrics: NodeMetrics;
  transport: MemoryTransport;
  storage: MemoryStorage;
  unwatch: () => void;
}

async function startNodes(): Promise<Map<string, Node>> {
  const net = new MemoryNetwork();
  const nodes = new Map<string, Node>();
  for (const id of IDS) {
    const metrics = new NodeMetrics();
    const storage = new MemoryStorage();
    const { replica, transport } = await openTestReplica(net, id, {
      voters: IDS,
      snapshotEntries: 1000,
      storage: () => metrics.wrapStorage(storage),
      wrapTransport: (t) => metrics.wrapTransport(t),
      start: false, // metrics watch it from the start
    });
    const unwatch = metrics.watch({ replica, storage, transport });
    replica.start();
    nodes.set(id, { replica, metrics, transport, storage, unwatch });
  }
  return nodes;
}

async function stopNodes(nodes: Map<string, Node>): Promise<void> {
  for (const n of nodes.values()) {
    n.unwatch();
    await n.replica.stop();
    await n.transport.close();
    n.storage.close();
  }
}

async function until<T>(what: string, probe: () => T | null): Promise<T> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The value of one sample line, e.g. sample(text, 'raftkv_term'). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  assert.ok(line, `no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

Deno.test("a node's metrics follow elections, writes, storage and peers", async () => {
  const nodes = await startNodes();
  try {
    const leader = await until("a leader", () => {
      const l = [...nodes.values()].find((n) => n.replica.node.role === "leader");
      return l && [...nodes.values()].every((n) => n.replica.node.leader === l.replica.id)
        ? l
        : null;
    });
    const follower = [...nodes.values()].find((n) => n !== leader)!;
    const put = { type: "put", key: "k", value: new Uint8Array([1]) } as const;
    assert.equal((await leader.replica.write(put)).type, "applied");
    assert.equal((await follower.replica.write(put)).type, "applied");
    // Heartbeats flow every tick: wait until the leader has timed a round trip to both peers.
    await until("RTT samples for both peers", () => {
      const rtts = leader.metrics.registry.expose().match(/^raftkv_peer_rtt_seconds_count\{/gm);
      return rtts?.length === 2 ? true : null;
    });
    const text = leader.metrics.registry.expose();
    const term = leader.replica.status().term;
    assert.equal(sample(text, "raftkv_term"), term);
    assert.equal(sample(text, "raftkv_is_leader"), 1);
    assert.equal(sample(text, "raftkv_has_leader"), 1);
    assert.equal(sample(text, "raftkv_leader_changes_seen_total"), 1);
    assert.equal(sample(text, 'raftkv_proposals_total{outcome="applied"}'), 1);
    assert.equal(sample(text, 'raftkv_applied_commands_total{result="put"}'), 2);
    assert.equal(sample(text, 'raftkv_write_duration_seconds_count{outcome="applied"}'), 1);
    assert.ok(sample(text, "raftkv_commit_index") >= 3, "no-op plus two writes");
    assert.equal(sample(text, "raftkv_apply_lag_entries"), 0);
    assert.equal(sample(text, 'raftkv_members{kind="voter"}'), 3);
    assert.ok(sample(text, 'raftkv_storage_write_seconds_count{op="append"}') >= 2);
    assert.ok(sample(text, "raftkv_storage_kv_commits_total") >= 2);
    assert.ok(sample(text, 'raftkv_messages_sent_total{type="heartbeat"}') > 0);
    assert.ok(sample(text, 'raftkv_messages_received_total{type="appendResp"}') > 0);
    assert.ok(sample(text, "raftkv_transport_frames_sent_total") > 0);
    assert.equal(sample(text, "raftkv_transport_frames_malformed_total"), 0);
    const fid = follower.replica.id;
    assert.equal(sample(text, `raftkv_peer_connected{peer="${fid}"}`), 1);
    assert.ok(sample(text, `raftkv_peer_match_index{peer="${fid}"}`) >= 3);
    assert.ok(sample(text, `raftkv_peer_rtt_seconds_count{peer="${fid}"}`) >= 1);
    assert.ok(sample(text, "process_resident_memory_bytes") > 0);

    // The follower counted its forwarded write, and it has no matchIndex view.
    const ftext = follower.metrics.registry.expose();
    assert.equal(sample(ftext, 'raftkv_proposals_total{outcome="applied"}'), 1);
    assert.equal(sample(ftext, "raftkv_is_leader"), 0);
    assert.doesNotMatch(ftext, /^raftkv_peer_match_index\{/m);
    assert.doesNotMatch(ftext, /^raftkv_peer_rtt_seconds_count\{/m);
  } finally {
    await stopNodes(nodes);
  }
});

Deno.test("unwatch restores the replica's own write and stops reading gauges", async () => {
  const nodes = await startNodes();
  const a = nodes.get("a")!;
  const wrapped = a.replica.write;
  a.unwatch();
  a.unwatch = () => {};
  try {
    assert.notEqual(a.replica.write, wrapped);
    assert.equal(a.replica.write, Replica.prototype.write);
    assert.doesNotMatch(a.metrics.registry.expose(), /^raftkv_term /m);
  } finally {
    await stopNodes(nodes);
  }
});
