import assert from "node:assert/strict";
import { concatBytes, readLimited } from "./bytes.ts";

function streamOf(chunks: Uint8Array[], then?: Error): {
  stream: ReadableStream<Uint8Array>;
  pulled: () => number;
  cancelled: () => boolean;
} {
  let pulled = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled < chunks.length) return controller.enqueue(chunks[pulled++]);
      if (then) controller.error(then);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

Deno.test("concatBytes joins in order into a fresh buffer", () => {
  const a = new Uint8Array([1, 2]);
  const out = concatBytes([a, new Uint8Array(0), new Uint8Array([3])]);
  assert.deepEqual([...out], [1, 2, 3]);
  out[0] = 9;
  assert.equal(a[0], 1, "not a view of its input");
  assert.equal(concatBytes([]).byteLength, 0);
});

Deno.test("readLimited reads up to the limit, and stops reading just past it", async () => {
  const chunk = new Uint8Array(10).fill(7);
  const fits = streamOf([chunk, chunk, chunk]);
  const ok = await readLimited(fits.stream, 30);
  assert.equal(ok.type, "ok");
  assert.equal(ok.type === "ok" && ok.bytes.byteLength, 30);

  const big = streamOf(Array.from({ length: 100 }, () => chunk));
  assert.deepEqual(await readLimited(big.stream, 25), { type: "tooLarge", bytes: 30 });
  assert.ok(big.pulled() <= 4, `pulled ${big.pulled()} of 100 chunks`);
  assert.ok(big.cancelled(), "the rest is cancelled");

  const broken = streamOf([chunk], new Error("connection reset"));
  await assert.rejects(readLimited(broken.stream, 100), /connection reset/);
});
