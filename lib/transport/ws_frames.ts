// WebSocket framing for the client side (RFC 6455 §5): masked frames out, and a byte queue
// from which the reader takes frames in.

import { concatBytes } from "../bytes.ts";

/** Queued frames are coalesced into writes of up to this size. */
const writeBatchBytes = 256 * 1024;

/** One masked client frame, header and payload in one buffer. */
export function encodeClientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const headerBytes = length < 126 ? 2 : length < 65536 ? 4 : 10;
  // Pad the front so the payload starts 4-byte aligned and can be masked a word at a time.
  const pad = (4 - ((headerBytes + 4) % 4)) % 4;
  const buffer = new Uint8Array(pad + headerBytes + 4 + length);
  const frame = buffer.subarray(pad);
  frame[0] = 0x80 | opcode;
  if (headerBytes === 2) {
    frame[1] = 0x80 | length;
  } else if (headerBytes === 4) {
    frame[1] = 0x80 | 126;
    frame[2] = length >> 8;
    frame[3] = length & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    const view = new DataView(buffer.buffer, pad + 2, 8);
    view.setUint32(0, Math.floor(length / 2 ** 32));
    view.setUint32(4, length >>> 0);
  }
  const mask = frame.subarray(headerBytes, headerBytes + 4);
  crypto.getRandomValues(mask);
  const start = pad + headerBytes + 4;
  buffer.set(payload, start);
  maskInPlace(buffer, start, length, mask);
  return frame;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function maskInPlace(buffer: Uint8Array, start: number, length: number, mask: Uint8Array): void {
  const words = length >>> 2;
  if (littleEndian && words > 0) {
    const mask32 = (mask[0] | (mask[1] << 8) | (mask[2] << 16) | (mask[3] << 24)) >>> 0;
    const view = new Uint32Array(buffer.buffer, buffer.byteOffset + start, words);
    for (let i = 0; i < words; i++) view[i] ^= mask32;
  }
  for (let i = littleEndian ? words * 4 : 0; i < length; i++) buffer[start + i] ^= mask[i & 3];
}

export function takeBatch(writes: Uint8Array[]): Uint8Array {
  let count = 0;
  let bytes = 0;
  while (
    count < writes.length && (count === 0 || bytes + writes[count].length <= writeBatchBytes)
  ) {
    bytes += writes[count].length;
    count++;
  }
  const parts = writes.splice(0, count);
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/** A growable byte queue: push at the end, take from the front. */
export class ByteBuffer {
  private buffer = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  at(i: number): number {
    return this.buffer[this.start + i];
  }

  u32(i: number): number {
    return ((this.at(i) << 24) | (this.at(i + 1) << 16) | (this.at(i + 2) << 8) |
      this.at(i + 3)) >>>
      0;
  }

  push(bytes: Uint8Array): void {
    if (this.end + bytes.length > this.buffer.length) {
      const needed = this.length + bytes.length;
      const next = needed > this.buffer.length
        ? new Uint8Array(Math.max(needed, this.buffer.length * 2))
        : this.buffer;
      next.set(this.buffer.subarray(this.start, this.end), 0); // set handles the overlap
      this.buffer = next;
      this.end = this.length;
      this.start = 0;
    }
    this.buffer.set(bytes, this.end);
    this.end += bytes.length;
  }

  /** Copies out `length` bytes after skipping `skip`, and consumes both. */
  take(skip: number, length: number): Uint8Array {
    const out = this.buffer.slice(this.start + skip, this.start + skip + length);
    this.start += skip + length;
    if (this.start === this.end) this.start = this.end = 0;
    return out;
  }

  /** Index of the "\r\n\r\n" that ends an HTTP head, or -1. */
  indexOfHeadEnd(): number {
    for (let i = this.start; i + 3 < this.end; i++) {
      const b = this.buffer;
      if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) {
        return i - this.start;
      }
    }
    return -1;
  }
}
