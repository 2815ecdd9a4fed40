// The contract every RaftStorage keeps, run against each implementation by storage_test.ts.

import assert from "node:assert/strict";
import type { ConfigState, Entry, HardState, Snapshot } from "../raft/types.ts";
import {
  type RaftStorage,
  SNAPSHOT_CHUNK_BYTES,
  StorageContractError,
  type StoredState,
} from "./storage.ts";

export interface StorageHarness {
  /** Opens the store. After close(), opening again must give the same store (a restart). */
  open(): Promise<RaftStorage>;
  cleanup(): Promise<void>;
}

export type HarnessFactory = () => Promise<StorageHarness>;

const CONFIG: ConfigState = { voters: ["n1", "n2", "n3"], learners: ["n4"] };

/** Deterministic bytes (xorshift32) so a failure replays. */
export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** `x` with every Uint8Array replaced by its length and an FNV-1a hash: comparing these
 * keeps an assertion failure readable (and small) when entries hold megabytes. */
export function digest(x: unknown): unknown {
  if (x instanceof Uint8Array) {
    let h = 0x811c9dc5;
    for (const b of x) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return `bytes(${x.length}, ${h.toString(16)})`;
  }
  if (Array.isArray(x)) return x.map(digest);
  if (typeof x === "object" && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, digest(v)]));
  }
  return x;
}

/** deepStrictEqual on digests. Also catches a Uint8Array that is not one (digest differs). */
export function assertSame(actual: unknown, expected: unknown, message?: string): void {
  assert.deepStrictEqual(digest(actual), digest(expected), message);
}

export function entry(index: number, term: number, data = bytes(8, index * 31 + term)): Entry {
  return { index, term, type: "normal", data };
}

export function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

export function snapshot(index: number, term: number, data = bytes(100, index)): Snapshot {
  return { meta: { index, term, config: CONFIG }, data };
}

const HS: HardState = { term: 3, votedFor: "n2", commitIndex: 2 };
const ZERO_HS: HardState = { term: 0, votedFor: null, commitIndex: 0 };

/** Runs `body` with a fresh store; `restart` closes the handle and opens the store again. */
async function withStore(
  factory: HarnessFactory,
  body: (s: RaftStorage, restart: () => Promise<RaftStorage>) => Promise<void>,
): Promise<void> {
  const harness = await factory();
  let current = await harness.open();
  const restart = async () => {
    current.close();
    current = await harness.open();
    return current;
  };
  try {
    await body(current, restart);
  } finally {
    current.close();
    await harness.cleanup();
  }
}

function indices(state: StoredState): number[] {
  return state.entries.map((e) => e.index);
}

/** Loads before and after a restart and checks both against `want`. */
async function assertStored(
  s: RaftStorage,
  restart: () => Promise<RaftStorage>,
  want: StoredState,
): Promise<RaftStorage> {
  assertSame(await s.load(), want);
  const again = await restart();
  assertSame(await again.load(), want);
  return again;
}

export function storageContract(name: string, factory: HarnessFactory): void {
  const test = (what: string, body: Parameters<typeof withStore>[1]) =>
    Deno.test(`${name}: ${what}`, () => withStore(factory, body));

  test("an empty store loads the zero state", async (s) => {
    assertSame(await s.load(), {
      hardState: ZERO_HS,
      snapshot: null,
      entries: [],
    });
    assert.equal(await s.loadSnapshot(), null);
    const st = s.stats();
    assertSame([st.entries, st.firstIndex, st.lastIndex], [0, 1, 0]);
  });

  test("entries and hard state round-trip across a restart", async (s, restart) => {
    const noop: Entry = { index: 2, term: 1, type: "noop", data: new Uint8Array(0) };
    const config: Entry = { ...entry(3, 2), type: "config" };
    const log = [entry(1, 1), noop, config];
    await s.append(log, HS);
    assert.ok(s.stats().commits >= 1);
    s = await assertStored(s, restart, { hardState: HS, snapshot: null, entries: log });
    const st = s.stats();
    assertSame([st.entries, st.firstIndex, st.lastIndex], [3, 1, 3]);
  });

  test("hard state alone, and an empty append changes nothing", async (s, restart) => {
    await s.append([], HS);
    await s.append([], null);
    await assertStored(s, restart, { hardState: HS, snapshot: null, entries: [] });
  });

  test("a conflicting suffix is replaced, also when the old log was longer", async (s, r) => {
    await s.append(range(1, 10, 1), null);
    await s.append(range(6, 7, 2), HS);
    const want = [...range(1, 5, 1), ...range(6, 7, 2)];
    s = await assertStored(s, r, { hardState: HS, snapshot: null, entries: want });
    assert.equal(s.stats().lastIndex, 7);
    await s.append([entry(8, 2)], null); // continues after the new last index
    assertSame(indices(await s.load()), [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("a conflicting suffix longer than the old log", async (s, restart) => {
    await s.append(range(1, 3, 1), null);
    await s.append(range(2, 6, 2), null);
    const want = [entry(1, 1), ...range(2, 6, 2)];
    await assertStored(s, restart, { hardState: ZERO_HS, snapshot: null, entries: want });
  });

  test("re-appending held entries drops what lies beyond them", async (s, restart) => {
    await s.append(range(1, 5, 1), null);
    await s.append(range(3, 4, 1), null);
    const st = await assertStored(s, restart, {
      hardState: ZERO_HS,
      snapshot: null,
      entries: range(1, 4, 1),
    });
    assert.equal(st.stats().lastIndex, 4);
  });

  test("appends with a gap, out of order or below the snapshot are refused", async (s) => {
    await s.append(range(1, 3, 1), null);
    const refused = (p: Promise<void>) => assert.rejects(p, StorageContractError);
    await refused(s.append([entry(5, 1)], null));
    await refused(s.append([entry(4, 1), entry(6, 1)], null));
    await refused(s.append([entry(0, 1)], null));
    await s.saveSnapshot(snapshot(2, 1));
    await refused(s.append([entry(2, 1)], null));
    // Refusals change nothing and leave the store usable.
    await s.append([entry(4, 1)], null);
    assertSame(indices(await s.load()), [3, 4]);
  });

  test("large entries are chunked and round-trip byte for byte", async (s, restart) => {
    const sizes = [0, 1, 60_000, 60_001, 65_536, 65_537, 131_072, 1 << 20];
    const log = sizes.map((n, i) => entry(i + 1, 1, bytes(n, i + 7)));
    await s.append(log, null);
    s = await assertStored(s, restart, {
      hardState: ZERO_HS,
      snapshot: null,
      entries: log,
    });
    // Overwrite the chunked tail with small entries: no trace of the old chunks may remain.
    await s.append([entry(6, 2), entry(7, 2)], null);
    s = await restart();
    assertSame((await s.load()).entries, [...log.slice(0, 5), entry(6, 2), entry(7, 2)]);
    await s.append([entry(8, 2, bytes(200_000, 99))], null);
    s = await restart();
    assertSame((await s.load()).entries[7], entry(8, 2, bytes(200_000, 99)));
  });

  test("5,000 small entries in one append", async (s, restart) => {
    const log: Entry[] = [];
    for (let i = 1; i <= 5000; i++) log.push(entry(i, 1 + Math.floor(i / 1000), bytes(100, i)));
    await s.append(log, HS);
    s = await restart();
    const got = await s.load();
    assert.equal(got.entries.length, 5000);
    assertSame(got.entries, log);
    assert.equal(s.stats().lastIndex, 5000);
  });

  test("snapshot save, load and compaction", async (s, restart) => {
    await s.append([...range(1, 20, 1), ...range(21, 25, 2)], HS);
    const snap = snapshot(20, 1, bytes(3 << 20, 5)); // 3 MiB: many chunks, several commits
    await s.saveSnapshot(snap);
    const want = { hardState: HS, snapshot: snap.meta, entries: range(21, 25, 2) };
    s = await assertStored(s, restart, want);
    assertSame(await s.loadSnapshot(), snap);
    const st = s.stats();
    assertSame([st.entries, st.firstIndex, st.lastIndex], [5, 21, 25]);
    await s.append([entry(26, 2)], null);
    assertSame(indices(await s.load()), [21, 22, 23, 24, 25, 26]);
  });

  test("a snapshot the log does not match replaces the whole log", async (s, restart) => {
    await s.append(range(1, 10, 1), null);
    await s.saveSnapshot(snapshot(8, 2)); // entry 8 has term 1
    let got = await s.load();
    assertSame([got.snapshot, got.entries], [snapshot(8, 2).meta, []]);
    assert.equal(s.stats().lastIndex, 8);
    await s.append(range(9, 10, 2), null);
    await s.saveSnapshot(snapshot(30, 3)); // beyond the log
    s = await restart();
    got = await s.load();
    assertSame([got.snapshot, got.entries], [snapshot(30, 3).meta, []]);
    assertSame(await s.loadSnapshot(), snapshot(30, 3));
    await s.append([entry(31, 3)], null);
    assertSame(indices(await s.load()), [31]);
  });

  test("a newer snapshot replaces the older; an older one is refused", async (s, restart) => {
    await s.append(range(1, 12, 1), null);
    await s.saveSnapshot(snapshot(5, 1, bytes(70_000, 1)));
    await s.saveSnapshot(snapshot(10, 1, bytes(10, 2)));
    await assert.rejects(s.saveSnapshot(snapshot(7, 1)), StorageContractError);
    await s.saveSnapshot(snapshot(10, 1, bytes(10, 2))); // the same one again is fine
    s = await restart();
    assertSame(await s.loadSnapshot(), snapshot(10, 1, bytes(10, 2)));
    assertSame(indices(await s.load()), [11, 12]);
  });

  test("compact reaches at most the snapshot", async (s) => {
    await s.append(range(1, 8, 1), null);
    await s.compact(0);
    await assert.rejects(s.compact(1), StorageContractError);
    await s.saveSnapshot(snapshot(5, 1));
    await s.compact(5);
    await assert.rejects(s.compact(6), StorageContractError);
    assertSame(indices(await s.load()), [6, 7, 8]);
  });

  test("data is copied in and out; views store only their bytes", async (s) => {
    const buf = bytes(16, 3);
    const frame = bytes(100_000, 4); // like a decoded msgpack frame holding the entry
    await s.append([entry(1, 1, buf), entry(2, 1, frame.subarray(500, 600))], null);
    buf.fill(0);
    const first = await s.load();
    assertSame(first.entries[0].data, bytes(16, 3));
    assertSame(first.entries[1].data, bytes(100_000, 4).slice(500, 600));
    for (const e of first.entries) assert.equal(e.data.byteLength, e.data.buffer.byteLength);
    first.entries[0].data.fill(1);
    assertSame((await s.load()).entries[0].data, bytes(16, 3));
  });

  // --- staging: a snapshot received piece by piece, resumable across a restart

  const CHUNK = SNAPSHOT_CHUNK_BYTES;

  test(
    "staging: written piece by piece, kept across a restart, resumed, installed",
    async (s, restart) => {
      await s.append(range(1, 10, 1), HS);
      const data = bytes(3 * CHUNK + 5, 9);
      const id = { index: 20, term: 2 };
      assert.equal(await s.stageSnapshot(id), 0);
      assert.equal(await s.writeStaged(id, 0, data.subarray(0, 2 * CHUNK)), true);
      assertSame(s.snapshotInfo(), { current: null, staged: { ...id, bytes: 2 * CHUNK } });
      s = await restart();
      await s.load();
      assertSame(s.snapshotInfo().staged, { ...id, bytes: 2 * CHUNK });
      assert.equal(await s.stageSnapshot(id), 2 * CHUNK, "resumes where it stopped");
      assert.equal(await s.writeStaged(id, CHUNK, data.subarray(CHUNK, 2 * CHUNK)), false);
      assert.equal(await s.writeStaged(id, 3 * CHUNK, data.subarray(3 * CHUNK)), false);
      assert.equal(await s.writeStaged(id, 2 * CHUNK, data.subarray(2 * CHUNK)), true);
      // A short write ends the staged data: nothing may follow it.
      await assert.rejects(s.writeStaged(id, data.length, bytes(1)), StorageContractError);
      // Staging leaves the log and the current snapshot alone until installed.
      assertSame(await s.load(), { hardState: HS, snapshot: null, entries: range(1, 10, 1) });
      const meta = snapshot(20, 2).meta;
      assert.equal(await s.installStaged(meta, data.length - 1), false, "not complete");
      assert.equal(await s.installStaged(meta, data.length), true);
      const want = { hardState: HS, snapshot: meta, entries: [] };
      s = await assertStored(s, restart, want); // entry 20 was never there: the log goes
      assertSame(await s.loadSnapshot(), { meta, data });
      assertSame(s.snapshotInfo(), { current: { ...id, bytes: data.length }, staged: null });
      await s.append([entry(21, 2)], null);
      assertSame(indices(await s.load()), [21]);
    },
  );

  test("staging: installing over a matching log keeps the entries after it", async (s, r) => {
    await s.append(range(1, 25, 1), HS);
    const id = { index: 20, term: 1 };
    await s.stageSnapshot(id);
    await s.writeStaged(id, 0, bytes(CHUNK, 1));
    assert.equal(await s.installStaged(snapshot(20, 1).meta, CHUNK), true);
    const want = { hardState: HS, snapshot: snapshot(20, 1).meta, entries: range(21, 25, 1) };
    s = await assertStored(s, r, want);
    assertSame(await s.loadSnapshot(), snapshot(20, 1, bytes(CHUNK, 1)));
  });

  test("staging: another snapshot discards the staged one; its writer is refused", async (s, r) => {
    const a = { index: 30, term: 3 };
    const b = { index: 40, term: 3 };
    await s.stageSnapshot(a);
    await s.writeStaged(a, 0, bytes(2 * CHUNK, 1));
    assert.equal(await s.stageSnapshot(b), 0);
    assert.equal(await s.writeStaged(a, 2 * CHUNK, bytes(CHUNK, 2)), false);
    assert.equal(await s.installStaged(snapshot(30, 3).meta, 2 * CHUNK), false, "b is staged");
    assert.equal(await s.writeStaged(b, 0, bytes(10, 3)), true);
    s = await r();
    await s.load();
    assert.equal(await s.stageSnapshot(a), 0, "a's bytes are gone");
    assert.equal(await s.stageSnapshot(b), 0, "and so are b's, replaced by a");
    await s.writeStaged(b, 0, bytes(10, 3));
    assert.equal(await s.installStaged(snapshot(40, 3).meta, 10), true);
    assertSame(await s.loadSnapshot(), snapshot(40, 3, bytes(10, 3)));
    assertSame(s.snapshotInfo().staged, null);
  });

  test("staging: an empty snapshot, and one behind the current is refused", async (s) => {
    await s.saveSnapshot(snapshot(50, 4));
    const id = { index: 10, term: 1 };
    await s.stageSnapshot(id);
    await assert.rejects(s.installStaged(snapshot(10, 1).meta, 0), StorageContractError);
    await s.stageSnapshot({ index: 60, term: 4 });
    assert.equal(await s.installStaged(snapshot(60, 4).meta, 0), true);
    assertSame(await s.loadSnapshot(), snapshot(60, 4, new Uint8Array(0)));
  });

  test("readSnapshot: whole chunks from an offset; empty at the end; null once replaced", async (s) => {
    const data = bytes(5 * CHUNK + 123, 4);
    await s.saveSnapshot(snapshot(7, 1, data));
    const id = { index: 7, term: 1 };
    assertSame(s.snapshotInfo().current, { ...id, bytes: data.length });
    assertSame(await s.readSnapshot(id, 0, 2 * CHUNK), data.slice(0, 2 * CHUNK));
    assertSame(await s.readSnapshot(id, 4 * CHUNK, 4 * CHUNK), data.slice(4 * CHUNK));
    assertSame(await s.readSnapshot(id, 6 * CHUNK, CHUNK), new Uint8Array(0));
    assert.equal(await s.readSnapshot({ index: 7, term: 2 }, 0, CHUNK), null);
    await assert.rejects(s.readSnapshot(id, 100, CHUNK), StorageContractError);
    await assert.rejects(s.readSnapshot(id, 0, CHUNK + 1), StorageContractError);
    await s.saveSnapshot(snapshot(8, 1));
    assert.equal(await s.readSnapshot(id, 0, CHUNK), null);
  });

  test("readSnapshot: a staged snapshot reads as far as it is staged", async (s, restart) => {
    await s.saveSnapshot(snapshot(7, 1, bytes(100, 1)));
    const data = bytes(3 * CHUNK + 9, 5);
    const id = { index: 9, term: 2 };
    await s.stageSnapshot(id);
    await s.writeStaged(id, 0, data.subarray(0, 2 * CHUNK));
    assertSame(await s.readSnapshot(id, 0, 4 * CHUNK), data.slice(0, 2 * CHUNK));
    await s.writeStaged(id, 2 * CHUNK, data.subarray(2 * CHUNK));
    assertSame(await s.readSnapshot(id, CHUNK, 4 * CHUNK), data.slice(CHUNK));
    assertSame(await s.readSnapshot({ index: 7, term: 1 }, 0, CHUNK), bytes(100, 1));
    // Our own newer snapshot overtakes the staged one: a restart does not keep it.
    await s.saveSnapshot(snapshot(12, 2));
    assertSame(s.snapshotInfo().staged, { ...id, bytes: data.length });
    s = await restart();
    await s.load();
    assertSame(s.snapshotInfo().staged, null);
    assert.equal(await s.readSnapshot(id, 0, CHUNK), null);
  });
}
