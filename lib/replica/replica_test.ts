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

/** `p`, or a failure naming `what` after `ms` milliseconds. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
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

Deno.test("replica: a hard state is written only for a new term or vote, never for commitIndex", async () => {
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
    const withHard = writes.filter((w) => w.term === term);
    assert.deepEqual(withHard, [], "entries written with an unchanged term and vote");
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

/** Appends wait between hold() and release(): a slow disk, made deterministic. */
class GatedStorage extends MemoryStorage {
  private gate: Promise<void> | null = null;
  private open = () => {};
  pending = 0;
  hold(): void {
    this.gate = new Promise((resolve) => this.open = resolve);
  }
  release(): void {
    this.gate = null;
    this.open();
  }
  override async append(
    entries: Parameters<MemoryStorage["append"]>[0],
    hardState: Parameters<MemoryStorage["append"]>[1],
  ): Promise<void> {
    if (this.gate) {
      this.pending++;
      await this.gate;
      this.pending--;
    }
    return await super.append(entries, hardState);
  }
}

/** Three replicas on gated disks; every disk is released before they stop. */
async function withGatedDisks(
  body: (replicas: Map<string, Replica>, disk: (r: Replica) => GatedStorage) => Promise<void>,
): Promise<void> {
  const disks = new Map(IDS.map((id) => [id, new GatedStorage()]));
  const replicas = await startReplicas(new MemoryNetwork(), new Map(disks));
  try {
    await body(replicas, (r) => disks.get(r.id)!);
  } finally {
    for (const d of disks.values()) d.release();
    await stopAll(replicas);
  }
}

Deno.test("replica: a leader whose own disk write hangs still commits and answers on its followers' acks", async () => {
  await withGatedDisks(async (replicas, diskOf) => {
    const leader = await waitForLeader(replicas.values());
    await put(leader, "warm", "up");
    const disk = diskOf(leader);
    disk.hold();
    // (Without the overlap this put would wait for the disk forever: a generous bound.)
    const result = await within(put(leader, "k", "v"), 10_000, "put while the leader's disk hangs");
    assert.equal(disk.pending, 1, "answered while the leader's own write is still held");
    // Messages and the next write wait for the held one (batches stay whole), so a read and a
    // second write go through once the disk answers.
    const read = linearizableGet(leader, "k");
    const second = put(leader, "k2", "v2");
    assert.equal(disk.pending, 1, "still one write in flight (one at a time)");
    disk.release();
    assert.equal(await read, "v");
    await second;
    await put(leader, "k3", "v3");
    assert.ok(result?.type === "put");
    const own = leader.node.status().progress!.get(leader.id)!.matchIndex;
    assert.ok(own >= result.revision, `the leader's own match ${own} after the write`);
  });
});

Deno.test("replica: a follower whose own disk write hangs still answers a write made through it", async () => {
  await withGatedDisks(async (replicas, diskOf) => {
    const leader = await waitForLeader(replicas.values());
    const follower = [...replicas.values()].find((r) => r !== leader)!;
    await put(follower, "warm", "up");
    const disk = diskOf(follower);
    disk.hold();
    // The leader and the third node have it on disk: committed, so the follower applies it
    // and answers; its own acknowledgement waits for its disk. (Without the overlap: no answer.)
    const result = await within(
      put(follower, "f", "1"),
      10_000,
      "put while a follower's disk hangs",
    );
    assert.equal(disk.pending, 1, "answered while the follower's own write is still held");
    assert.equal(follower.sm.get("f", follower.clock())?.value.length, 1);
    const own = leader.node.status().progress!.get(follower.id)!.matchIndex;
    assert.ok(result?.type === "put");
    assert.ok(own < result.revision, `no acknowledgement from the follower yet (match ${own})`);
    disk.release();
    await put(follower, "g", "2");
    const after = leader.node.status().progress!.get(follower.id)!.matchIndex;
    assert.ok(after >= result.revision, `the follower's match ${after} once its write is done`);
  });
});
