// MemoryStorage's synchronous face, used by the deterministic simulator. The async face is
// covered by the shared contract (storage_test.ts).

import assert from "node:assert/strict";
import { entry, range, snapshot } from "./contract_test.ts";
import { MemoryStorage } from "./memory_storage.ts";
import { StorageContractError } from "./storage.ts";

Deno.test("MemoryStorage sync API: append, snapshot, compact, load", () => {
  const s = new MemoryStorage();
  s.appendSync(range(1, 6, 1), { term: 1, votedFor: "n1", commitIndex: 3 });
  s.appendSync([entry(5, 2)], null); // replaces 5 and 6
  assert.deepStrictEqual(s.loadSync().entries.map((e) => [e.index, e.term]), [
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 1],
    [5, 2],
  ]);
  s.saveSnapshotSync(snapshot(3, 1));
  s.compactSync(3);
  assert.throws(() => s.compactSync(4), StorageContractError);
  assert.throws(() => s.appendSync([entry(7, 2)], null), StorageContractError);
  const got = s.loadSync();
  assert.deepStrictEqual(got.snapshot, snapshot(3, 1).meta);
  assert.deepStrictEqual(got.entries, [entry(4, 1), entry(5, 2)]);
  assert.deepStrictEqual(got.hardState, { term: 1, votedFor: "n1", commitIndex: 3 });
  assert.deepStrictEqual(s.loadSnapshotSync(), snapshot(3, 1));
  assert.deepStrictEqual(s.stats(), {
    entries: 2,
    firstIndex: 4,
    lastIndex: 5,
    commits: 3,
    commitMsTotal: 0,
  });
});

Deno.test("MemoryStorage async calls reject, never throw, on a broken contract", async () => {
  const s = new MemoryStorage();
  const p = s.append([entry(2, 1)], null);
  await assert.rejects(p, StorageContractError);
});
