import assert from "node:assert/strict";
import type { SnapshotRequest } from "./codec.ts";
import { snapshotMessage } from "./sample_messages.ts";
import { type AssemblyResult, SnapshotAssembler, snapshotFrames } from "./snapshot_chunks.ts";

function snap(bytes: number): SnapshotRequest {
  const msg = snapshotMessage("n1", "n2", bytes);
  assert.ok(msg.type === "snapshot");
  return msg;
}

/** Feeds frames from snapshotFrames into an assembler, returning the last result. */
function feed(assembler: SnapshotAssembler, msg: SnapshotRequest, seq: number, chunkBytes: number) {
  let result: AssemblyResult = { type: "pending" };
  for (const f of snapshotFrames(msg, seq, chunkBytes)) {
    if (f.kind === "snapBegin") result = assembler.begin(f.seq, f.total, f.msg);
    else if (f.kind === "snapChunk") result = assembler.chunk(f.seq, f.offset, f.data);
  }
  return result;
}

Deno.test("snapshot chunks: split into a header and consecutive slices, then reassembled", () => {
  const msg = snap(1000);
  const frames = snapshotFrames(msg, 4, 300);
  assert.deepEqual(frames.map((f) => f.kind), [
    "snapBegin",
    "snapChunk",
    "snapChunk",
    "snapChunk",
    "snapChunk",
  ]);
  const begin = frames[0];
  assert.ok(begin.kind === "snapBegin");
  assert.equal(begin.total, 1000);
  assert.equal(begin.msg.snapshot.data.byteLength, 0, "the header carries no data");
  assert.deepEqual(
    frames.slice(1).map((f) => f.kind === "snapChunk" ? [f.offset, f.data.byteLength] : []),
    [
      [0, 300],
      [300, 300],
      [600, 300],
      [900, 100],
    ],
  );
  const result = feed(new SnapshotAssembler(10_000), msg, 4, 300);
  assert.equal(result.type, "done");
  assert.deepEqual((result as { msg: SnapshotRequest }).msg, msg);
});

Deno.test("snapshot chunks: gaps, unknown transfers and oversize snapshots are errors", () => {
  const msg = snap(1000);
  const frames = snapshotFrames(msg, 1, 300);
  const a = new SnapshotAssembler(10_000);
  assert.equal(a.chunk(1, 0, new Uint8Array(10)).type, "error", "no transfer begun");
  const begin = frames[0];
  assert.ok(begin.kind === "snapBegin");
  assert.equal(a.begin(1, 1000, begin.msg).type, "pending");
  assert.equal(a.chunk(2, 0, new Uint8Array(10)).type, "error", "wrong seq");
  assert.equal(a.chunk(1, 0, new Uint8Array(300)).type, "pending");
  assert.equal(a.bufferedBytes, 300);
  assert.equal(a.chunk(1, 600, new Uint8Array(300)).type, "error", "a gap abandons the transfer");
  assert.equal(a.bufferedBytes, 0);
  assert.equal(a.chunk(1, 300, new Uint8Array(300)).type, "error", "nothing to continue");

  assert.equal(a.begin(2, 100, begin.msg).type, "pending");
  assert.equal(a.chunk(2, 0, new Uint8Array(101)).type, "error", "beyond total");

  const small = new SnapshotAssembler(999);
  assert.equal(small.begin(1, 1000, begin.msg).type, "error");
  assert.equal(small.bufferedBytes, 0);
});

Deno.test("snapshot chunks: a new begin supersedes, reset discards, empty data completes at once", () => {
  const a = new SnapshotAssembler(10_000);
  const first = snap(1000);
  const frames = snapshotFrames(first, 1, 300);
  const begin = frames[0];
  assert.ok(begin.kind === "snapBegin");
  a.begin(1, 1000, begin.msg);
  a.chunk(1, 0, new Uint8Array(300));
  const second = snap(500);
  assert.equal(feed(a, second, 2, 300).type, "done");
  a.begin(3, 1000, begin.msg);
  a.chunk(3, 0, new Uint8Array(300));
  a.reset();
  assert.equal(a.bufferedBytes, 0);
  assert.equal(a.chunk(3, 300, new Uint8Array(300)).type, "error");
  const done = a.begin(4, 0, begin.msg);
  assert.equal(done.type, "done");
});
