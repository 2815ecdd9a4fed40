import assert from "node:assert/strict";
import { createCodec, type SnapshotRequest } from "./codec.ts";
import { snapshotMessage } from "./sample_messages.ts";
import { SendQueue } from "./send_queue.ts";

const codec = createCodec();
const limits = { sendQueueMax: 3, sendQueueBytesMax: 100, snapshotChunkBytes: 1000 };

function snap(bytes: number): SnapshotRequest {
  const msg = snapshotMessage("n1", "n2", bytes);
  assert.ok(msg.type === "snapshot");
  return msg;
}

Deno.test("send queue: bounded by frames and by bytes, FIFO", () => {
  const q = new SendQueue(limits, codec);
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
  for (let next = q.shift(); next !== null; next = q.shift()) {
    assert.equal(next.type, "frame");
    sizes.push((next as { bytes: Uint8Array }).bytes.byteLength);
  }
  assert.deepEqual(sizes, [60, 20, 20]);
  assert.equal(q.pushFrame(new Uint8Array(100)).type, "queued", "bytes are released on shift");
});

Deno.test("send queue: a snapshot streams chunk by chunk, one at a time, outside the byte bound", () => {
  const q = new SendQueue(limits, codec);
  assert.equal(q.pushSnapshot(snap(2500), 1).type, "queued", "2500 bytes > sendQueueBytesMax");
  assert.deepEqual(q.pushSnapshot(snap(2500), 2), {
    type: "dropped",
    frames: 4,
    reason: "a snapshot is already queued",
  });
  assert.equal(q.pushFrame(new Uint8Array(10)).type, "queued");
  const kinds = [];
  for (let next = q.shift(); next !== null; next = q.shift()) {
    assert.equal(next.type, "frame");
    const decoded = codec.decodeFrame((next as { bytes: Uint8Array }).bytes);
    kinds.push(decoded.type === "ok" ? decoded.frame.kind : "raw");
  }
  assert.deepEqual(kinds, ["snapBegin", "snapChunk", "snapChunk", "snapChunk", "raw"]);
  assert.equal(q.pushSnapshot(snap(2500), 3).type, "queued", "the slot is free again");
  assert.equal(q.clear(), 4, "clear reports the frames discarded");
  assert.equal(q.length, 0);
});

Deno.test("send queue: a chunk that cannot be encoded abandons the rest of its snapshot", () => {
  const tiny = createCodec({ frameBytesMax: 1500 });
  const q = new SendQueue({ ...limits, snapshotChunkBytes: 2000 }, tiny);
  q.pushSnapshot(snap(5000), 1);
  assert.equal(q.shift()?.type, "frame", "the header fits");
  assert.deepEqual(q.shift(), {
    type: "error",
    frames: 3,
    reason: "frame of 2040 bytes exceeds frameBytesMax 1500",
  });
  assert.equal(q.shift(), null);
});
