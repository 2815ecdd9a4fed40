// SnapshotStreams between a leader and a follower over a switchable in-memory link, with a
// fake clock: a whole transfer, resuming after a broken link, after a follower restart and
// under a new leader, bounded buffering, and refusal of malformed chunks.

import assert from "node:assert/strict";
import { join } from "node:path";
import type { NodeId, SnapshotMeta, SnapshotRequest } from "../raft/types.ts";
import { bytes } from "../storage/contract_test.ts";
import { KvStorage, MemoryStorage, type RaftStorage } from "../storage/mod.ts";
import type { SnapAck, SnapChunk } from "../transport/mod.ts";
import { SnapshotStreams, type StreamConfig } from "./snapshot_stream.ts";

const CHUNK = 65_536;
const CONFIG: Partial<StreamConfig> = {
  chunkBytes: 2 * CHUNK,
  windowChunks: 3,
  resendMs: 100,
  abandonMs: 1_000,
};
const WINDOW = 3 * 2 * CHUNK;
const META: SnapshotMeta = {
  index: 500,
  term: 2,
  config: { voters: ["n1", "n2", "n3"], learners: [] },
};
const DATA = bytes(3 * 1024 * 1024 + 1234, 7); // not a whole number of chunks

interface Side {
  streams: SnapshotStreams;
  storage: RaftStorage;
  delivered: SnapshotRequest[];
  failed: NodeId[];
  term: number;
  covers: boolean;
}

/** Two nodes, n1 leading, joined by a link that can be cut; messages arrive asynchronously. */
class Pair {
  clock = 0;
  up = true;
  /** Deliver only this many more messages, then cut the link (null: no limit). */
  cutAfter: number | null = null;
  dropped = 0;
  /** The most snapshot bytes either side held in memory at once. */
  maxBuffered = 0;
  readonly sides = new Map<NodeId, Side>();
  private inFlight = 0;

  add(id: NodeId, storage: RaftStorage, leader: boolean, config = CONFIG): Side {
    const side: Side = {
      storage,
      delivered: [],
      failed: [],
      term: 3,
      covers: false,
      streams: null as unknown as SnapshotStreams,
    };
    side.streams = new SnapshotStreams({
      id,
      storage,
      send: (m) => this.send(m),
      now: () => this.clock,
      term: () => side.term,
      isLeader: () => leader,
      covers: () => side.covers,
      deliver: (m) => side.delivered.push(m),
      failed: (to) => side.failed.push(to),
      fatal: (e) => {
        throw e;
      },
      log: () => {},
    }, config);
    this.sides.set(id, side);
    return side;
  }

  send(m: SnapChunk | SnapAck): void {
    if (this.cutAfter !== null && this.cutAfter-- <= 0) this.up = false;
    if (!this.up) return void this.dropped++;
    this.inFlight++;
    setTimeout(() => {
      this.inFlight--;
      const to = this.sides.get(m.to);
      if (!this.up || to === undefined) return void this.dropped++;
      if (m.type === "snapChunk") to.streams.onChunk(m);
      else to.streams.onAck(m);
      for (const s of this.sides.values()) {
        this.maxBuffered = Math.max(this.maxBuffered, s.streams.stats().bufferedBytes);
      }
    }, 0);
  }

  /** Lets messages and storage calls run until nothing moves for 20 ms. */
  async settle(): Promise<void> {
    let last = "";
    let still = 0;
    for (let i = 0; i < 5_000; i++) {
      await new Promise((r) => setTimeout(r, 2));
      const now = JSON.stringify([
        this.dropped,
        ...[...this.sides.values()].map((s) => [
          s.streams.stats(),
          s.storage.snapshotInfo(),
          s.delivered.length,
          s.failed.length,
        ]),
      ]);
      still = now === last && this.inFlight === 0 ? still + 1 : 0;
      if (still >= 10) return;
      last = now;
    }
    throw new Error("the link never settled");
  }

  /** Advances the fake clock by `ms` and ticks every side. */
  tick(ms: number): void {
    this.clock += ms;
    for (const s of this.sides.values()) s.streams.tick();
  }
}

function leaderStorage(data = DATA, meta = META): MemoryStorage {
  const s = new MemoryStorage();
  s.saveSnapshotSync({ meta, data });
  return s;
}

function assertDelivered(side: Side, data = DATA): void {
  assert.equal(side.delivered.length, 1, "one complete snapshot handed to Raft");
  const m = side.delivered[0];
  assert.equal(m.type, "snapshot");
  assert.equal(m.from, "n1");
  assert.equal(m.term, 3);
  assert.deepEqual(m.snapshot.meta, META);
  assert.equal(m.snapshot.data.length, data.length);
  assert.ok(m.snapshot.data.every((b, i) => b === data[i]), "byte for byte");
}

Deno.test("snapshot stream: a whole transfer, a window at a time, staged on the follower", async () => {
  const pair = new Pair();
  const leader = pair.add("n1", leaderStorage(), true);
  const follower = pair.add("n2", new MemoryStorage(), false);
  leader.streams.offer("n2", META, 3);
  await pair.settle();
  assertDelivered(follower);
  assert.equal(leader.streams.stats().bytesSent, DATA.length, "every byte once");
  assert.equal(follower.streams.stats().bytesReceived, DATA.length);
  assert.equal(leader.streams.stats().transfersActive, 0, "done once the last byte is acked");
  assert.ok(pair.maxBuffered > 0 && pair.maxBuffered <= WINDOW, `buffered ${pair.maxBuffered}`);
  assert.deepEqual(follower.storage.snapshotInfo().staged, {
    index: 500,
    term: 2,
    bytes: DATA.length,
  });
  // Raft accepts it: installing the staged snapshot makes it current without another copy.
  assert.equal(await follower.storage.installStaged(META, DATA.length), true);
  assert.equal(follower.storage.snapshotInfo().staged, null);
  assert.equal((await follower.storage.loadSnapshot())?.data.length, DATA.length);
  assert.deepEqual(leader.failed, []);
});

Deno.test("snapshot stream: a broken link resumes from the follower's staged bytes", async () => {
  const pair = new Pair();
  const leader = pair.add("n1", leaderStorage(), true);
  const follower = pair.add("n2", new MemoryStorage(), false);
  pair.cutAfter = 12; // the hello, its ack, then a few chunks and acks
  leader.streams.offer("n2", META, 3);
  await pair.settle();
  const staged = follower.storage.snapshotInfo().staged!.bytes;
  assert.ok(staged > 0 && staged < DATA.length, `staged ${staged} before the break`);
  assert.equal(follower.delivered.length, 0);

  pair.tick(50); // not yet silent for resendMs: nothing happens
  await pair.settle();
  assert.equal(follower.storage.snapshotInfo().staged!.bytes, staged);
  pair.up = true;
  pair.cutAfter = null;
  pair.tick(60); // silent for 110 ms ≥ resendMs: send again from the last ack
  await pair.settle();
  assertDelivered(follower);
  const resent = leader.streams.stats().bytesSent - DATA.length;
  assert.ok(resent <= WINDOW, `resent ${resent} bytes, at most one window, not from zero`);
  assert.equal(follower.streams.stats().bytesReceived, DATA.length, "each byte staged once");
  assert.deepEqual(leader.failed, []);
});

Deno.test("snapshot stream: a follower restarted mid-transfer resumes from disk", async () => {
  const dir = await Deno.makeTempDir({ prefix: "raftkv-stream-" });
  const path = join(dir, "n2.kv");
  try {
    const pair = new Pair();
    const leader = pair.add("n1", leaderStorage(), true);
    const before = await KvStorage.open(path);
    pair.add("n2", before, false);
    pair.cutAfter = 16;
    leader.streams.offer("n2", META, 3);
    await pair.settle();
    const staged = before.snapshotInfo().staged!.bytes;
    assert.ok(staged > 0 && staged < DATA.length, `staged ${staged} before the crash`);
    before.close();

    const after = await KvStorage.open(path); // the follower restarts
    assert.deepEqual(after.snapshotInfo().staged, { index: 500, term: 2, bytes: staged });
    const follower = pair.add("n2", after, false);
    pair.up = true;
    pair.cutAfter = null;
    pair.tick(100);
    await pair.settle();
    assertDelivered(follower);
    assert.equal(
      follower.streams.stats().bytesReceived,
      DATA.length - staged,
      "only the bytes it did not have",
    );
    assert.equal(await after.installStaged(META, DATA.length), true);
    after.close();
    const reopened = await KvStorage.open(path);
    assert.equal((await reopened.loadSnapshot())?.data.length, DATA.length);
    assert.equal(reopened.snapshotInfo().staged, null);
    reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot stream: a new leader with the same snapshot continues where the old stopped", async () => {
  const pair = new Pair();
  const old = pair.add("n1", leaderStorage(), true);
  const follower = pair.add("n2", new MemoryStorage(), false);
  pair.cutAfter = 10;
  old.streams.offer("n2", META, 3);
  await pair.settle();
  const staged = follower.storage.snapshotInfo().staged!.bytes;
  assert.ok(staged > 0);
  pair.sides.delete("n1"); // the old leader is gone
  const next = pair.add("n3", leaderStorage(), true); // same history, same snapshot bytes
  follower.term = 3;
  pair.up = true;
  pair.cutAfter = null;
  next.streams.offer("n2", META, 3);
  await pair.settle();
  assert.equal(follower.delivered.length, 1);
  assert.equal(follower.delivered[0].from, "n3");
  assert.equal(next.streams.stats().bytesSent, DATA.length - staged, "from the staged offset");
});

Deno.test("snapshot stream: a follower that already covers the snapshot needs no data", async () => {
  const pair = new Pair();
  const leader = pair.add("n1", leaderStorage(), true);
  const follower = pair.add("n2", new MemoryStorage(), false);
  follower.covers = true;
  leader.streams.offer("n2", META, 3);
  await pair.settle();
  assert.equal(leader.streams.stats().bytesSent, 0);
  assert.equal(leader.streams.stats().transfersActive, 0);
  assert.equal(follower.delivered.length, 1, "Raft still answers the leader");
  assert.equal(follower.delivered[0].snapshot.data.length, 0);
  assert.equal(follower.storage.snapshotInfo().staged, null, "nothing staged");
});

Deno.test("snapshot stream: the leader gives up on a silent follower and when its snapshot is replaced", async () => {
  const pair = new Pair();
  const storage = leaderStorage();
  const leader = pair.add("n1", storage, true);
  pair.add("n2", new MemoryStorage(), false);
  pair.up = false;
  leader.streams.offer("n2", META, 3);
  leader.streams.offer("n2", META, 3); // Raft asking again while it runs changes nothing
  for (let i = 0; i < 9; i++) pair.tick(100);
  assert.deepEqual(leader.failed, [], "still within abandonMs");
  assert.equal(pair.dropped, 1 + 9, "the hello once at start and again on each resend");
  pair.tick(100);
  assert.deepEqual(leader.failed, ["n2"], "Raft is told, and will probe and offer again");
  assert.equal(leader.streams.stats().transfersActive, 0);

  // A snapshot Raft asks for that is no longer the one in storage fails at once.
  leader.streams.offer("n2", { ...META, index: 400 }, 3);
  assert.deepEqual(leader.failed, ["n2", "n2"]);
  // Replaced mid-transfer: reading the next chunk finds a newer one, and the transfer ends.
  pair.up = true;
  pair.cutAfter = 4;
  leader.streams.offer("n2", META, 3);
  await pair.settle();
  storage.saveSnapshotSync({ meta: { ...META, index: 900 }, data: bytes(1000) });
  pair.up = true;
  pair.cutAfter = null;
  pair.tick(100);
  await pair.settle();
  assert.deepEqual(leader.failed, ["n2", "n2", "n2"]);
  assert.equal(leader.streams.stats().transfersActive, 0);
});

Deno.test("snapshot stream: a transfer of a past term stops when leadership is lost", () => {
  const pair = new Pair();
  const leader = pair.add("n1", leaderStorage(), true);
  pair.up = false;
  leader.streams.offer("n2", META, 3);
  assert.equal(leader.streams.stats().transfersActive, 1);
  leader.term = 4;
  pair.tick(1);
  assert.equal(leader.streams.stats().transfersActive, 0);
  assert.deepEqual(leader.failed, [], "no leader left to tell");
});

Deno.test("snapshot stream: malformed and stale chunks are refused and counted, never staged", async () => {
  const pair = new Pair();
  const follower = pair.add("n2", new MemoryStorage(), false);
  pair.add("n1", new MemoryStorage(), true);
  const chunk = (over: Partial<SnapChunk>): SnapChunk => ({
    type: "snapChunk",
    from: "n1",
    to: "n2",
    term: 3,
    meta: META,
    total: 10 * CHUNK,
    offset: 0,
    data: bytes(CHUNK),
    ...over,
  });
  const bad: [Partial<SnapChunk>, string][] = [
    [{ offset: 100 }, "misaligned offset"],
    [{ data: bytes(1000) }, "a short chunk that is not the last"],
    [{ offset: 10 * CHUNK }, "beyond the total"],
    [{ total: 0, data: new Uint8Array(0) }, "an empty snapshot"],
    [{ total: 2 ** 31 }, "over snapshotBytesMax"],
    [{ meta: { ...META, index: 0 } }, "index 0"],
    [{ term: 2 }, "a stale term"],
  ];
  for (const [over] of bad) follower.streams.onChunk(chunk(over));
  assert.equal(follower.streams.stats().chunksRejected, bad.length);
  await pair.settle();
  assert.equal(follower.storage.snapshotInfo().staged, null, "nothing staged");

  // Far more than the leader's window at once: the excess is refused, not queued.
  for (let i = 0; i < 20; i++) {
    follower.streams.onChunk(chunk({ total: 20 * CHUNK, offset: i * CHUNK }));
  }
  assert.equal(follower.streams.stats().bufferedBytes, 2 * WINDOW, "two windows at most");
  assert.equal(follower.streams.stats().chunksRejected, bad.length + 20 - 2 * WINDOW / CHUNK);
  await pair.settle();
  assert.equal(follower.streams.stats().bytesReceived, 2 * WINDOW, "the queued ones, in order");
});
