// KvStorage beyond the shared contract: commit packing, and what it does with the debris a
// crash between commits can leave (written here directly into the database file).

import assert from "node:assert/strict";
import { assertSame, bytes, entry, range, snapshot } from "./contract_test.ts";
import { KV_COMMIT_LIMITS } from "./kv_batch.ts";
import {
  CHUNK_BYTES,
  logChunkKey,
  type LogHeader,
  logKey,
  SNAP_CHUNK_PREFIX,
  SNAP_KEY,
  snapChunkKey,
  type SnapHeader,
  STAGE_KEY,
  StorageCorruptError,
} from "./kv_layout.ts";
import { KvStorage } from "./kv_storage.ts";
import type { Entry } from "../raft/types.ts";

/** A database file in a fresh temp dir; removed afterwards. */
async function withFile(body: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_kvstorage_" });
  try {
    await body(`${dir}/raft.kv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withStorage<T>(path: string, f: (s: KvStorage) => Promise<T>): Promise<T> {
  const s = await KvStorage.open(path);
  try {
    return await f(s);
  } finally {
    s.close();
  }
}

/** Direct access to the file, as a crash would have left it. */
async function withRaw<T>(path: string, f: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(path);
  try {
    return await f(kv);
  } finally {
    kv.close();
  }
}

async function keysUnder(path: string, prefix: Deno.KvKey): Promise<Deno.KvKey[]> {
  return await withRaw(path, async (kv) => {
    const keys: Deno.KvKey[] = [];
    for await (const e of kv.list({ prefix })) keys.push(e.key);
    return keys;
  });
}

const indicesOf = async (s: KvStorage) => (await s.load()).entries.map((e) => e.index);

Deno.test("KvStorage: ':memory:' works", async () => {
  await withStorage(":memory:", async (s) => {
    await s.append(range(1, 3, 1), null);
    assertSame(await indicesOf(s), [1, 2, 3]);
  });
});

Deno.test("KvStorage: 5,000 entries and their hard state take the fewest commits", async () => {
  await withStorage(":memory:", async (s) => {
    const log = range(1, 5000, 1).map((e) => ({ ...e, data: bytes(100, e.index) }));
    await s.append(log, { term: 1, votedFor: "n1", commitIndex: 0 });
    assert.equal(s.stats().commits, Math.ceil(5001 / KV_COMMIT_LIMITS.mutationsMax));
    assert.ok(s.stats().commitMsTotal > 0);
  });
});

Deno.test("KvStorage: four 1 MiB entries in one append stay within commit limits", async () => {
  await withStorage(":memory:", async (s) => {
    const log = [1, 2, 3, 4].map((i) => entry(i, 1, bytes(1 << 20, i)));
    await s.append(log, null);
    assert.ok(s.stats().commits >= Math.ceil((4 << 20) / KV_COMMIT_LIMITS.bytesMax));
    assertSame((await s.load()).entries, log);
  });
});

Deno.test("KvStorage: chunks without a header are an absent entry, and are removed", async () => {
  await withFile(async (path) => {
    await withStorage(path, (s) => s.append(range(1, 3, 1), null));
    await withRaw(path, async (kv) => {
      await kv.set(logChunkKey(4, 0), bytes(CHUNK_BYTES, 1));
      await kv.set(logChunkKey(4, 1), bytes(10, 2));
    });
    await withStorage(path, async (s) => {
      assertSame(await indicesOf(s), [1, 2, 3]);
      await s.append([entry(4, 2)], null);
    });
    assertSame(await keysUnder(path, ["logc"]), []);
    await withStorage(path, async (s) => {
      assertSame((await s.load()).entries, [...range(1, 3, 1), entry(4, 2)]);
    });
  });
});

Deno.test("KvStorage: a header whose chunks are missing ends the log", async () => {
  await withFile(async (path) => {
    await withStorage(path, (s) => s.append(range(1, 3, 1), null));
    const torn: LogHeader = { term: 1, type: "normal", data: null, chunks: 2, bytes: 70_000 };
    await withRaw(path, async (kv) => {
      await kv.set(logKey(4), torn);
      await kv.set(logChunkKey(4, 0), bytes(CHUNK_BYTES, 1)); // chunk 1 never made it
      await kv.set(logKey(5), { ...torn, data: bytes(5, 5), chunks: 0, bytes: 5 });
    });
    await withStorage(path, async (s) => {
      assertSame(await indicesOf(s), [1, 2, 3]);
      assert.equal(s.stats().lastIndex, 3);
    });
    assertSame(await keysUnder(path, ["log"]), [1, 2, 3].map(logKey));
  });
});

Deno.test("KvStorage: entries after a gap are dropped and never come back", async () => {
  await withFile(async (path) => {
    await withStorage(path, (s) => s.append(range(1, 3, 1), null));
    const stale: LogHeader = { term: 1, type: "normal", data: bytes(4, 9), chunks: 0, bytes: 4 };
    await withRaw(path, (kv) => kv.set(logKey(5), stale));
    await withStorage(path, async (s) => {
      assertSame(await indicesOf(s), [1, 2, 3]);
      await s.append([entry(4, 2)], null); // would make a surviving 5 contiguous again
    });
    await withStorage(path, async (s) => assertSame(await indicesOf(s), [1, 2, 3, 4]));
  });
});

function snapHeader(index: number, term: number, gen: number): SnapHeader {
  return { gen, ...snapshot(index, term).meta, chunks: 0, bytes: 0 };
}

Deno.test("KvStorage: crash after a snapshot switch, before dropping a conflicting log", async () => {
  await withFile(async (path) => {
    await withStorage(path, (s) => s.append(range(1, 10, 1), null));
    // The deletes (top-down) stopped part-way: entry 6 (term 1, the snapshot says 2) remains.
    await withRaw(path, async (kv) => {
      await kv.set(SNAP_KEY, snapHeader(6, 2, 1));
      for (const i of [10, 9]) await kv.delete(logKey(i));
    });
    await withStorage(path, async (s) => {
      const got = await s.load();
      assertSame([got.snapshot?.index, got.entries], [6, []]);
      assert.equal(s.stats().lastIndex, 6);
    });
    assertSame(await keysUnder(path, ["log"]), []);
  });
});

Deno.test("KvStorage: crash after a snapshot switch, before compacting a matching log", async () => {
  await withFile(async (path) => {
    await withStorage(path, (s) => s.append(range(1, 10, 1), null));
    await withRaw(path, (kv) => kv.set(SNAP_KEY, snapHeader(6, 1, 1)));
    await withStorage(path, async (s) => {
      assertSame(await indicesOf(s), [7, 8, 9, 10]);
      assertSame(await s.loadSnapshot(), snapshot(6, 1, new Uint8Array(0)));
    });
    assertSame(await keysUnder(path, ["log"]), [7, 8, 9, 10].map(logKey));
  });
});

Deno.test("KvStorage: chunks of unused snapshot generations are removed", async () => {
  await withFile(async (path) => {
    const snap = snapshot(5, 1, bytes(100_000, 3));
    await withStorage(path, (s) => s.saveSnapshot(snap));
    await withRaw(path, async (kv) => {
      await kv.set(snapChunkKey(0, 0), bytes(10, 1)); // an older generation's leftover
      await kv.set(snapChunkKey(2, 0), bytes(10, 2)); // a save that never switched
    });
    await withStorage(path, async (s) => assertSame(await s.loadSnapshot(), snap));
    const left = await keysUnder(path, SNAP_CHUNK_PREFIX);
    assertSame(left, [snapChunkKey(1, 0), snapChunkKey(1, 1)]);
  });
});

Deno.test("KvStorage: the staged generation survives the repair at open; debris does not", async () => {
  await withFile(async (path) => {
    const id = { index: 9, term: 2 };
    await withStorage(path, async (s) => {
      await s.saveSnapshot(snapshot(5, 1, bytes(10, 1))); // generation 1
      await s.stageSnapshot(id); // generation 2
      await s.writeStaged(id, 0, bytes(CHUNK_BYTES + 1, 2));
    });
    await withRaw(path, async (kv) => {
      await kv.set(snapChunkKey(0, 0), bytes(10, 1));
      await kv.set(snapChunkKey(3, 0), bytes(10, 2));
    });
    await withStorage(path, async (s) => {
      assertSame(s.snapshotInfo().staged, { ...id, bytes: CHUNK_BYTES + 1 });
      assert.equal(await s.installStaged(snapshot(9, 2).meta, CHUNK_BYTES + 1), true);
      assertSame(await s.loadSnapshot(), snapshot(9, 2, bytes(CHUNK_BYTES + 1, 2)));
    });
    assertSame(await keysUnder(path, SNAP_CHUNK_PREFIX), [snapChunkKey(2, 0), snapChunkKey(2, 1)]);
    assertSame(await keysUnder(path, STAGE_KEY), []);
  });
});

Deno.test("KvStorage: a malformed value is corruption: open fails, nothing is dropped", async () => {
  await withFile(async (path) => {
    await withStorage(path, (s) => s.append(range(1, 3, 1), null));
    await withRaw(path, (kv) => kv.set(logKey(2), { term: "two" }));
    await assert.rejects(KvStorage.open(path), StorageCorruptError);
    assert.equal((await keysUnder(path, ["log"])).length, 3);
  });
});

Deno.test("KvStorage: small entries are stored as raw bytes; the older object form still loads", async () => {
  await withFile(async (path) => {
    const config: Entry = { index: 3, term: 2, type: "config", data: bytes(5, 3) };
    await withStorage(path, (s) => s.append([...range(1, 2, 1), config], null));
    await withRaw(path, async (kv) => {
      for (const index of [1, 2, 3]) {
        assert.ok((await kv.get(logKey(index))).value instanceof Uint8Array, `entry ${index}`);
      }
      // As versions before the raw form wrote every entry.
      const old: LogHeader = {
        term: 2,
        type: "noop",
        data: new Uint8Array(0),
        chunks: 0,
        bytes: 0,
      };
      await kv.set(logKey(4), old);
    });
    await withStorage(path, async (s) => {
      const noop: Entry = { index: 4, term: 2, type: "noop", data: new Uint8Array(0) };
      assertSame((await s.load()).entries, [...range(1, 2, 1), config, noop]);
    });
  });
});

for (
  const [what, value] of [
    ["an unknown tag", Uint8Array.of(9, 0, 63, 240, 0, 0, 0, 0, 0, 0)],
    ["an unknown entry type", Uint8Array.of(1, 7, 63, 240, 0, 0, 0, 0, 0, 0)],
    ["a fractional term", Uint8Array.of(1, 0, 63, 248, 0, 0, 0, 0, 0, 0)],
    ["a short header", Uint8Array.of(1, 0, 63)],
  ] as const
) {
  Deno.test(`KvStorage: a raw entry with ${what} is corruption`, async () => {
    await withFile(async (path) => {
      await withStorage(path, (s) => s.append(range(1, 3, 1), null));
      await withRaw(path, (kv) => kv.set(logKey(2), value));
      await assert.rejects(KvStorage.open(path), StorageCorruptError);
    });
  });
}

Deno.test("KvStorage: closed handles refuse calls", async () => {
  const s = await KvStorage.open(":memory:");
  s.close();
  await assert.rejects(s.append([entry(1, 1)], null), /closed/);
});
