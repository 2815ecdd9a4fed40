// Cuts one direction of a WebSocket connection's byte stream into units the fault proxy can
// hold, delay or drop without corrupting the stream: first the HTTP upgrade head (request or
// response, up to the blank line), then whole frames (RFC 6455 §5.2).

export type Unit =
  | { kind: "head"; bytes: Uint8Array }
  /** A data frame (text, binary or continuation): `first`/`last` fragment of its message. */
  | { kind: "data"; bytes: Uint8Array; first: boolean; last: boolean }
  /** Ping or pong. */
  | { kind: "control"; bytes: Uint8Array }
  | { kind: "close"; bytes: Uint8Array };

/** The longest HTTP head we wait for before calling the stream broken. */
const HEAD_BYTES_MAX = 16 * 1024;
const CRLFCRLF = [13, 10, 13, 10];

export class FrameSplitter {
  /** Unconsumed bytes are storage[start, end): appends amortize, takes advance `start`. */
  private storage = new Uint8Array(4096);
  private start = 0;
  private end = 0;
  private inHead = true;

  constructor(private readonly frameBytesMax: number) {}

  /** Appends bytes; returns every unit now complete. Throws when the stream is not WebSocket. */
  push(chunk: Uint8Array): Unit[] {
    this.append(chunk);
    const units: Unit[] = [];
    while (true) {
      const unit = this.inHead ? this.head() : this.frame();
      if (unit === null) return units;
      units.push(unit);
    }
  }

  private get buffer(): Uint8Array {
    return this.storage.subarray(this.start, this.end);
  }

  private append(chunk: Uint8Array): void {
    const length = this.end - this.start;
    if (this.end + chunk.length > this.storage.length) {
      const grown = this.storage.length >= 2 * (length + chunk.length)
        ? this.storage
        : new Uint8Array(2 * (length + chunk.length));
      grown.set(this.storage.subarray(this.start, this.end));
      this.storage = grown;
      this.start = 0;
      this.end = length;
    }
    this.storage.set(chunk, this.end);
    this.end += chunk.length;
  }

  private head(): Unit | null {
    const end = indexOf(this.buffer, CRLFCRLF);
    if (end === -1) {
      if (this.end - this.start > HEAD_BYTES_MAX) throw new Error("no HTTP head");
      return null;
    }
    this.inHead = false;
    return { kind: "head", bytes: this.take(end + CRLFCRLF.length) };
  }

  private frame(): Unit | null {
    const b = this.buffer;
    if (b.length < 2) return null;
    const fin = (b[0] & 0x80) !== 0;
    const opcode = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = (b[2] << 8) | b[3];
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      length = Number(view.getBigUint64(2));
      offset = 10;
    }
    if (masked) offset += 4;
    if (offset + length > this.frameBytesMax) throw new Error(`frame of ${length} bytes`);
    if (b.length < offset + length) return null;
    const bytes = this.take(offset + length);
    switch (opcode) {
      case 0x0:
        return { kind: "data", bytes, first: false, last: fin };
      case 0x1:
      case 0x2:
        return { kind: "data", bytes, first: true, last: fin };
      case 0x8:
        return { kind: "close", bytes };
      case 0x9:
      case 0xa:
        return { kind: "control", bytes };
      default:
        throw new Error(`opcode ${opcode}`);
    }
  }

  private take(n: number): Uint8Array {
    const out = this.storage.slice(this.start, this.start + n);
    this.start += n;
    return out;
  }
}

function indexOf(haystack: Uint8Array, needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
