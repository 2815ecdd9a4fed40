import assert from "node:assert/strict";
import { ByteBuffer, encodeClientFrame, takeBatch } from "./ws_frames.ts";

/** Decodes a client frame the way a server does (RFC 6455 §5.2-5.3). */
function unmask(frame: Uint8Array) {
  let length = frame[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = (frame[2] << 8) | frame[3];
    offset = 4;
  } else if (length === 127) {
    length = Number(new DataView(frame.buffer, frame.byteOffset + 2, 8).getBigUint64(0));
    offset = 10;
  }
  const mask = frame.subarray(offset, offset + 4);
  const payload = frame.slice(offset + 4);
  for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
  return {
    fin: (frame[0] & 0x80) !== 0,
    opcode: frame[0] & 0x0f,
    masked: (frame[1] & 0x80) !== 0,
    length,
    payload,
  };
}

Deno.test("ws frames: client frames carry the right length encoding and a working mask", () => {
  for (const size of [0, 1, 3, 125, 126, 1001, 65535, 65536, 200_003]) {
    const payload = new Uint8Array(size).map((_, i) => (i * 13) & 0xff);
    const frame = encodeClientFrame(0x2, payload);
    const headerBytes = size < 126 ? 2 : size < 65536 ? 4 : 10;
    assert.equal(frame.length, headerBytes + 4 + size);
    const decoded = unmask(frame);
    assert.deepEqual(
      { fin: decoded.fin, opcode: decoded.opcode, masked: decoded.masked, length: decoded.length },
      { fin: true, opcode: 2, masked: true, length: size },
    );
    assert.deepEqual(decoded.payload, payload, `size ${size}`);
  }
});

Deno.test("ws frames: queued frames are coalesced up to the batch size, in order", () => {
  const writes = [
    new Uint8Array(100).fill(1),
    new Uint8Array(200).fill(2),
    new Uint8Array(300_000),
  ];
  const first = takeBatch(writes);
  assert.equal(first.length, 300);
  assert.deepEqual([first[0], first[99], first[100], first[299]], [1, 1, 2, 2]);
  assert.equal(takeBatch(writes).length, 300_000, "a large frame goes alone");
  assert.equal(writes.length, 0);
});

Deno.test("ws frames: the byte queue grows, compacts and hands out copies", () => {
  const q = new ByteBuffer();
  const chunk = new Uint8Array(40_000).map((_, i) => i & 0xff);
  q.push(chunk);
  q.push(chunk); // grows past 64 KiB
  assert.equal(q.length, 80_000);
  assert.equal(q.u32(0), 0x00010203);
  const taken = q.take(2, 39_998);
  assert.deepEqual(taken, chunk.subarray(2));
  q.push(chunk); // compacts in place or grows: either way contents are kept
  assert.equal(q.length, 80_000);
  assert.deepEqual(q.take(0, 40_000), chunk);
  assert.deepEqual(q.take(0, 40_000), chunk);
  assert.equal(q.length, 0);
  q.push(new TextEncoder().encode("HTTP/1.1 101 OK\r\nA: b\r\n\r\nrest"));
  assert.equal(q.indexOfHeadEnd(), 21); // where "\r\n\r\n" begins
});
