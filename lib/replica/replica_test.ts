// The replica shell over the in-memory twins of storage and transport: three replicas in one
// process, real timers (fast ticks), real Ready loops.

import assert from "node:assert/strict";
import { MemoryStorage } from "../storage/mod.ts";
import { MemoryNetwork } from "../transport/mod.ts";
import type { Replica } from "./replica.ts";
import { openTestReplica, waitForLeader } from "./test_cluster.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const IDS = ["a", "b", "c"];

async function startReplicas(
  net: MemoryNetwork,
  storages: Map<string, MemoryStorage>,
  ids = IDS,
): Promise<Map<string, Replica>> {
  const replicas = new Map<string, Replica>();
  for (const id of ids) {
    const storage = storages.get(id) ?? new MemoryStorage();
    storages.set(id, storage);
    const opened = await openTestReplica(net, id, {
      voters: IDS,
      snapshotEntries: 50,
      storage: () => storage,
    });
    replicas.set(id, opened.replica);
  }
  return replicas;
}

async function stopAll(replicas: Map<string, Replica>): Promise<void> {
  for (const r of replicas.values()) await r.stop();
}

async function put(r: Replica, key: string, value: string) {
  const o = await r.write({ type: "put", key, value: encoder.encode(value) });
  assert.equal(o.type, "applied", `put ${key} via ${r.id}: ${JSON.stringify(o)}`);
  return o.type === "applied" ? o.result : null;
}

async function linearizableGet(r: Replica, key: string): Promise<string | null> {
  const barrier = await r.readBarrier();
  assert.equal(barrier.type, "ok", `read barrier on ${r.id}: ${JSON.stringify(barrier)}`);
  const kv = r.sm.get(key, r.clock());
  return kv ? decoder.decode(kv.value) : null;
}

Deno.test("replica: writes through every node, linearizable reads from every node", async () => {
  const replicas = await startReplicas(new MemoryNetwork(), new Map());
  try {
    await waitForLeader(replicas.values());
    let last = 0;
    for (const r of replicas.values()) {
      const result = await put(r, "k", `from-${r.id}`);
      assert.equal(result?.type, "put");
      if (result?.type === "put") {
        assert.ok(result.revision > last, "revisions strictly increase");
        last = result.revision;
      }
      // Every replica, follower or leader, sees the write just acknowledged.
      for (const reader of replicas.values()) {
        assert.equal(await linearizableGet(reader, "k"), `from-${r.id}`);
      }
    }
  } finally {
    await stopAll(replicas);
  }
});

Deno.test("replica: compaction and restart from storage keep every acknowledged write", async () => {
  const net = new MemoryNetwork();
  const storages = new Map<string, MemoryStorage>();
  let replicas = await startReplicas(net, storages);
  try {
    await waitForLeader(replicas.values());
    const writer = replicas.get("b")!;
    for (let i = 0; i < 120; i++) await put(writer, `key${i % 30}`, `v${i}`);
    // snapshotEntries is 50: every replica has compacted its log at least twice.
    for (const r of replicas.values()) assert.ok(r.node.snapshotIndex >= 100, `${r.id} compacted`);
    await stopAll(replicas);
    replicas = await startReplicas(new MemoryNetwork(), storages);
    await waitForLeader(replicas.values());
    for (const r of replicas.values()) {
      for (let k = 0; k < 30; k++) {
        const last = 90 + k; // the last write to key{k} among 0..119
        assert.equal(await linearizableGet(r, `key${k}`), `v${last}`);
      }
    }
  } finally {
    await stopAll(replicas);
  }
});

Deno.test("replica: a write in flight when its leader is cut off fails fast as unknown (504)", async () => {
  const net = new MemoryNetwork();
  const replicas = await startReplicas(net, new Map());
  try {
    const leader = await waitForLeader(replicas.values());
    await put(leader, "before", "1");
    net.isolate(leader.id);
    const started = Date.now();
    // The request timeout is 3 s; check-quorum makes the cut-off leader step down after one
    // election timeout (50–100 ms here), which must end the wait with "outcome unknown".
    const outcome = await leader.write({ type: "put", key: "during", value: encoder.encode("x") });
    assert.equal(outcome.type, "timeout");
    assert.ok(Date.now() - started < 2500, `failed fast (${Date.now() - started} ms)`);
    assert.notEqual(leader.node.role, "leader");
  } finally {
    net.heal();
    await stopAll(replicas);
  }
});

Deno.test("replica: a hard state that changes only commitIndex costs no disk write", async () => {
  // Every append the replicas make, with what it carried.
  const writes: { entries: number; term?: number; votedFor?: string | null }[] = [];
  class CountingStorage extends MemoryStorage {
    override append(
      entries: Parameters<MemoryStorage["append"]>[0],
      hardState: Parameters<MemoryStorage["append"]>[1],
    ): Promise<void> {
      writes.push({
        entries: entries.length,
        term: hardState?.term,
        votedFor: hardState?.votedFor,
      });
      return super.append(entries, hardState);
    }
  }
  const storages = new Map(IDS.map((id) => [id, new CountingStorage() as MemoryStorage]));
  const net = new MemoryNetwork();
  let replicas = await startReplicas(net, storages);
  try {
    const leader = await waitForLeader(replicas.values());
    const term = leader.node.status().term;
    writes.length = 0; // the election's writes change term or vote
    for (let i = 0; i < 20; i++) await put(leader, `k${i}`, `v${i}`);
    // Let the followers learn the last commit index, then look at what was written.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(writes.length >= 20, `expected entry writes, saw ${writes.length}`);
    // (An election under load would write a new term: that one is allowed.)
    const hardOnly = writes.filter((w) => w.entries === 0 && w.term === term);
    assert.deepEqual(hardOnly, [], "writes without entries (a commit-only hard state)");
  } finally {
    await stopAll(replicas);
  }
  // A full restart from those stores still serves every acknowledged write: the commit index on
  // disk may be behind, and the new leader's first commit brings it up to date.
  replicas = await startReplicas(new MemoryNetwork(), storages);
  try {
    const leader = await waitForLeader(replicas.values());
    for (const r of replicas.values()) {
      for (let i = 0; i < 20; i++) assert.equal(await linearizableGet(r, `k${i}`), `v${i}`);
    }
    assert.ok(leader.sm.appliedIndex >= 21);
  } finally {
    await stopAll(replicas);
  }
});
