import { mulberry32 } from "../../test/rng.ts";
import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import type { Message } from "../raft/types.ts";
import {
  createCodec,
  decodeFrame,
  encodeFrame,
  type Frame,
  frameBytesMax,
  type OutFrame,
  raftFrame,
} from "./codec.ts";
import { bytesOf, sampleEntries, sampleMessages } from "./sample_messages.ts";

function encodeOk(frame: OutFrame): Uint8Array {
  const result = encodeFrame(frame);
  assert.equal(result.type, "ok", result.type === "error" ? result.reason : "");
  return (result as { bytes: Uint8Array }).bytes;
}

function decodeOk(bytes: Uint8Array): Frame {
  const result = decodeFrame(bytes);
  assert.equal(result.type, "ok", result.type === "error" ? result.reason : "");
  return (result as { frame: Frame }).frame;
}

function assertRejected(value: unknown, why: string): string {
  const result = decodeFrame(encode(value));
  assert.equal(result.type, "error", `accepted ${why}`);
  return (result as { reason: string }).reason;
}

Deno.test("codec: every Message variant round-trips unchanged", () => {
  const messages = sampleMessages("n1", "n2");
  const types = new Set(messages.map((m) => m.type));
  assert.equal(
    types.size,
    15,
    "all 11 Raft message shapes (both tags of the shared vote shapes), snapChunk, snapAck",
  );
  for (const msg of messages) {
    const frame = decodeOk(encodeOk(raftFrame(msg)));
    assert.equal(frame.kind, "raft");
    assert.deepEqual((frame as { msg: Message }).msg, msg, msg.type);
  }
});

Deno.test("codec: decoded byte strings are copies, not views into the frame", () => {
  const msg = sampleMessages("n1", "n2").find((m) => m.type === "append")!;
  const bytes = encodeOk(raftFrame(msg));
  const frame = decodeOk(bytes);
  bytes.fill(0xee); // the receive buffer is reused or freed: the message must not change
  assert.equal(frame.kind, "raft");
  assert.deepEqual((frame as { msg: Message }).msg, msg);
  const decoded = (frame as { msg: Message }).msg;
  assert.ok(decoded.type === "append");
  assert.equal(decoded.entries[0].data.buffer.byteLength, decoded.entries[0].data.byteLength);
});

Deno.test("codec: handshake frames round-trip", () => {
  const frames: OutFrame[] = [
    { kind: "challenge", nonce: bytesOf(32) },
    { kind: "auth", id: "n1", nonce: bytesOf(32, 2), mac: bytesOf(32, 3) },
    { kind: "welcome", mac: bytesOf(32, 4) },
  ];
  for (const frame of frames) assert.deepEqual(decodeOk(encodeOk(frame)), { v: 1, ...frame });
});

Deno.test("codec: random bytes give an error and never throw", () => {
  const random = mulberry32(42);
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(Math.floor(random() * 200));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    // Bias some cases towards a map header so the decoder gets further than the first byte.
    if (bytes.length > 0 && i % 2 === 0) bytes[0] = 0x80 | (bytes[0] & 0x0f);
    assert.equal(decodeFrame(bytes).type, "error", `case ${i}`);
  }
});

Deno.test("codec: every truncation of a valid frame is rejected", () => {
  const bytes = encodeOk(raftFrame(sampleMessages("n1", "n2")[4]));
  for (let length = 0; length < bytes.length; length++) {
    assert.equal(decodeFrame(bytes.subarray(0, length)).type, "error", `prefix ${length}`);
  }
  const trailing = new Uint8Array(bytes.length + 1);
  trailing.set(bytes);
  assert.equal(decodeFrame(trailing).type, "error", "trailing byte");
});

Deno.test("codec: wrong version, unknown kinds and non-envelopes are rejected", () => {
  const msg = sampleMessages("n1", "n2")[0];
  assert.match(assertRejected({ v: 2, kind: "raft", msg }, "v2"), /unsupported frame version 2/);
  assertRejected({ kind: "raft", msg }, "no version");
  assertRejected({ v: "1", kind: "raft", msg }, "string version");
  assertRejected({ v: 1, kind: "gossip", msg }, "unknown kind");
  assertRejected({ v: 1, kind: "raft", msg, extra: 1 }, "extra envelope key");
  assertRejected([1, "raft", msg], "array envelope");
  assertRejected(null, "nil");
  assertRejected("raft", "string");
  assertRejected({ v: 1, kind: "raft", msg: { ...msg, type: "gossip" } }, "unknown type");
});

Deno.test("codec: a missing field in any message is rejected", () => {
  for (const msg of sampleMessages("n1", "n2")) {
    for (const key of Object.keys(msg)) {
      const partial: Record<string, unknown> = { ...msg };
      delete partial[key];
      assertRejected({ v: 1, kind: "raft", msg: partial }, `${msg.type} without ${key}`);
    }
  }
});

/** Whether `wrong` happens to be a legal value for a field currently holding `original`. */
function stillValid(key: string, original: unknown, wrong: unknown): boolean {
  if (typeof original === "boolean") return typeof wrong === "boolean";
  if (key === "from" || key === "to") return wrong === "x";
  if (Array.isArray(original)) return Array.isArray(wrong); // an empty entry list is legal
  if (original instanceof Uint8Array) return wrong instanceof Uint8Array; // any bytes are legal
  return false;
}

Deno.test("codec: a field of the wrong type in any message is rejected", () => {
  const wrongValues: unknown[] = ["x", -1, 1.5, 2 ** 60, null, true, new Uint8Array(1), [], {}];
  for (const msg of sampleMessages("n1", "n2")) {
    for (const key of Object.keys(msg)) {
      const original = (msg as unknown as Record<string, unknown>)[key];
      for (const wrong of wrongValues) {
        if (stillValid(key, original, wrong)) continue;
        const bad = { ...msg, [key]: wrong };
        assertRejected({ v: 1, kind: "raft", msg: bad }, `${msg.type}.${key} = ${String(wrong)}`);
      }
    }
  }
});

Deno.test("codec: nested fields are validated too", () => {
  const [append] = sampleMessages("n1", "n2").filter((m) => m.type === "append");
  assert.ok(append.type === "append");
  const entry = append.entries[0];
  const badEntries: unknown[] = [
    { ...entry, data: "not bytes" },
    { ...entry, type: "weird" },
    { ...entry, index: -3 },
    { ...entry, term: 0.5 },
    { term: 1, index: 1, type: "normal" },
    { ...entry, extra: true },
  ];
  for (const bad of badEntries) {
    assertRejected({ v: 1, kind: "raft", msg: { ...append, entries: [bad] } }, JSON.stringify(bad));
  }
  const base = { v: 1, kind: "raft", msg: { ...append, from: "" } };
  assertRejected(base, "empty id");
  assertRejected({ ...base, msg: { ...append, to: "x".repeat(65) } }, "65-char id");
  assert.equal(
    decodeFrame(encode({ ...base, msg: { ...append, to: "x".repeat(64) } })).type,
    "ok",
    "64-char id is fine",
  );
  assertRejected({ v: 1, kind: "challenge", nonce: bytesOf(31) }, "short nonce");
  assertRejected({ v: 1, kind: "welcome", mac: "a".repeat(32) }, "string mac");
  const chunk = sampleMessages("n1", "n2").find((m) => m.type === "snapChunk")!;
  assertRejected({ v: 1, kind: "raft", msg: { ...chunk, offset: -1 } }, "offset -1");
  assertRejected({ v: 1, kind: "raft", msg: { ...chunk, data: "abc" } }, "string data");
  assertRejected({ v: 1, kind: "snapChunk", seq: 1, offset: 0, data: bytesOf(1) }, "old kind");
});

Deno.test("codec: oversize frames and too many entries are rejected, both ways", () => {
  assert.equal(frameBytesMax, 4 * 1024 * 1024);
  const small = createCodec({ frameBytesMax: 1000 });
  assert.equal(small.limits.frameBytesMax, 1000);
  const big: Message = {
    from: "n1",
    to: "n2",
    term: 1,
    type: "append",
    prevLogIndex: 0,
    prevLogTerm: 0,
    entries: sampleEntries(20, 100),
    commitIndex: 0,
  };
  const encodedBig = small.encodeFrame(raftFrame(big));
  assert.equal(encodedBig.type, "error");
  assert.match((encodedBig as { reason: string }).reason, /exceeds frameBytesMax 1000/);
  const bytes = encodeOk(raftFrame(big));
  const decodedBig = small.decodeFrame(bytes);
  assert.equal(decodedBig.type, "error");
  assert.match((decodedBig as { reason: string }).reason, /exceeds frameBytesMax/);
  assert.equal(decodeFrame(new Uint8Array(frameBytesMax + 1)).type, "error");

  const few = createCodec({ entriesPerFrameMax: 19 });
  assert.equal(few.decodeFrame(bytes).type, "error", "20 entries over a cap of 19");
  assert.equal(createCodec({ entriesPerFrameMax: 20 }).decodeFrame(bytes).type, "ok");
});

Deno.test("codec: decodes from an ArrayBuffer as WebSocket delivers it", () => {
  const msg = sampleMessages("n1", "n2")[6];
  const bytes = encodeOk(raftFrame(msg));
  const buffer = new Uint8Array(bytes).buffer; // exactly the frame, as an ArrayBuffer
  const result = decodeFrame(buffer);
  assert.equal(result.type, "ok");
});
