import assert from "node:assert/strict";
import { SendQueue } from "./send_queue.ts";

const limits = { sendQueueMax: 3, sendQueueBytesMax: 100 };

Deno.test("send queue: bounded by frames and by bytes, FIFO", () => {
  const q = new SendQueue(limits);
  assert.equal(q.pushFrame(new Uint8Array(60)).type, "queued");
  assert.equal(q.pushFrame(new Uint8Array(50)).type, "dropped", "110 bytes > 100");
  assert.equal(q.pushFrame(new Uint8Array(20)).type, "queued");
  assert.equal(q.pushFrame(new Uint8Array(20)).type, "queued");
  assert.deepEqual(q.pushFrame(new Uint8Array(0)), {
    type: "dropped",
    frames: 1,
    reason: "send queue full",
  });
  assert.equal(q.length, 3);
  const sizes = [];
  for (let next = q.shift(); next !== null; next = q.shift()) sizes.push(next.byteLength);
  assert.deepEqual(sizes, [60, 20, 20]);
  assert.equal(q.pushFrame(new Uint8Array(100)).type, "queued", "bytes are released on shift");
  assert.equal(q.clear(), 1, "clear reports the frames discarded");
  assert.equal(q.length, 0);
  assert.equal(q.pushFrame(new Uint8Array(100)).type, "queued", "and their bytes");
});

Deno.test("send queue: stays FIFO across its internal compaction", () => {
  const q = new SendQueue({ sendQueueMax: 5000, sendQueueBytesMax: 1 << 20 });
  let next = 0;
  let pushed = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 1500; i++) q.pushFrame(new Uint8Array([round, pushed++ & 255]));
    for (let i = 0; i < 1400; i++) {
      const f = q.shift()!;
      assert.equal(f[1], next & 255);
      next++;
    }
  }
  assert.equal(q.length, 5 * 100);
});
