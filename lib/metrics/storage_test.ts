import assert from "node:assert/strict";
import type { Entry } from "../raft/types.ts";
import { MemoryStorage } from "../storage/mod.ts";
import { Registry } from "./registry.ts";
import { TimedStorage } from "./storage.ts";

function entry(index: number): Entry {
  return { term: 1, index, type: "normal", data: new Uint8Array([index]) };
}

Deno.test("TimedStorage times append and saveSnapshot and passes everything through", async () => {
  const registry = new Registry();
  const latency = registry.histogram({
    name: "write_seconds",
    help: "W.",
    labelNames: ["op"],
    buckets: [0.001, 0.01],
  });
  let clockMs = 0;
  const inner = new MemoryStorage();
  // Each call to the fake clock advances it 2 ms: every write "takes" 2 ms.
  const storage = new TimedStorage(inner, latency, () => (clockMs += 2));
  await storage.append([entry(1), entry(2)], { term: 1, votedFor: "a", commitIndex: 0 });
  await storage.append([entry(3)], null);
  await storage.saveSnapshot({
    meta: { index: 2, term: 1, config: { voters: ["a"], learners: [] } },
    data: new Uint8Array([9]),
  });
  assert.deepEqual(latency.snapshot({ op: "append" }), {
    count: 2,
    sum: 0.004,
    counts: [0, 2, 0],
  });
  assert.equal(latency.snapshot({ op: "snapshot" }).count, 1);
  const loaded = await storage.load();
  assert.deepEqual(loaded.entries.map((e) => e.index), [3]);
  assert.equal((await storage.loadSnapshot())?.meta.index, 2);
  assert.equal(storage.stats().lastIndex, 3);
  await storage.compact(2);
  storage.close();
});

Deno.test("a failed write is not timed and its error reaches the caller", async () => {
  const registry = new Registry();
  const latency = registry.histogram({
    name: "write_seconds",
    help: "W.",
    labelNames: ["op"],
    buckets: [1],
  });
  const storage = new TimedStorage(new MemoryStorage(), latency);
  // Index 5 on an empty log breaks the storage contract.
  await assert.rejects(storage.append([entry(5)], null), /outside/);
  assert.equal(latency.snapshot({ op: "append" }).count, 0);
  storage.close();
});
