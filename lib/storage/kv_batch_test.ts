import assert from "node:assert/strict";
import { bytes } from "./contract_test.ts";
import { commitOps, del, KV_COMMIT_LIMITS, type KvOp, planCommits, setBytes } from "./kv_batch.ts";

Deno.test("planCommits keeps the order and fills each commit up to a limit", () => {
  const ops: KvOp[] = [];
  for (let i = 0; i < 25; i++) {
    ops.push(i % 5 === 0 ? del(["k", i]) : setBytes(["k", i], bytes(100, i)));
  }
  const groups = planCommits(ops, { mutationsMax: 10, bytesMax: 1 << 20, keyBytesMax: 1 << 20 });
  assert.deepStrictEqual(groups.map((g) => g.length), [10, 10, 5]);
  assert.deepStrictEqual(groups.flat(), ops);
  // Bytes bound: each 1,000-byte set counts 1,000 + 16 + 48 key bytes, so 3 fit in 3,200.
  const big = [1, 2, 3, 4, 5, 6, 7].map((i) => setBytes(["b", i], bytes(1000, i)));
  const byBytes = planCommits(big, { mutationsMax: 100, bytesMax: 3200, keyBytesMax: 1 << 20 });
  assert.deepStrictEqual(byBytes.map((g) => g.length), [3, 3, 1]);
  assert.deepStrictEqual(planCommits([]), []);
});

Deno.test("planCommits refuses a mutation larger than any commit", () => {
  const limits = { mutationsMax: 10, bytesMax: 500, keyBytesMax: 1000 };
  assert.throws(() => planCommits([setBytes(["x"], bytes(600))], limits), /exceeds a commit/);
});

Deno.test("commitOps stays within Deno KV's real limits on large mixed batches", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const ops: KvOp[] = [];
    for (let i = 0; i < 40; i++) ops.push(setBytes(["chunk", i], bytes(65_536, i)));
    for (let i = 0; i < 3000; i++) ops.push(setBytes(["small", i], bytes(200, i)));
    for (let i = 0; i < 2000; i++) ops.push(del(["small", i]));
    const counter = { commits: 0, commitMsTotal: 0 };
    await commitOps(kv, ops, counter); // Deno throws if a commit breaks its limits
    assert.equal(counter.commits, planCommits(ops).length);
    assert.ok(counter.commits >= Math.ceil(ops.length / KV_COMMIT_LIMITS.mutationsMax));
    let left = 0;
    for await (const _ of kv.list({ prefix: ["small"] })) left++;
    assert.equal(left, 1000);
    assert.equal((await kv.get<Uint8Array>(["chunk", 39])).value?.length, 65_536);
  } finally {
    kv.close();
  }
});
