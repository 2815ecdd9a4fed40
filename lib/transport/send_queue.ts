// A bounded per-peer queue of encoded frames, bounded both in frames and in bytes. Snapshots
// are no exception: the replica streams them in chunks with a small window (see
// lib/replica/snapshot_stream.ts), so no frame here is larger than one chunk.

export interface SendQueueLimits {
  /** Frames waiting per peer. */
  sendQueueMax: number;
  /** Bytes of encoded frames waiting per peer. */
  sendQueueBytesMax: number;
}

export type PushResult = { type: "queued" } | { type: "dropped"; frames: number; reason: string };

export class SendQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly limits: SendQueueLimits) {}

  get length(): number {
    return this.items.length - this.head;
  }

  pushFrame(bytes: Uint8Array): PushResult {
    if (this.length >= this.limits.sendQueueMax) return full("send queue full");
    if (this.bytes + bytes.byteLength > this.limits.sendQueueBytesMax) {
      return full("send queue bytes full");
    }
    this.items.push(bytes);
    this.bytes += bytes.byteLength;
    return { type: "queued" };
  }

  /** The next encoded frame to send, or null when empty. */
  shift(): Uint8Array | null {
    if (this.length === 0) return null;
    const item = this.items[this.head];
    this.head++;
    this.bytes -= item.byteLength;
    // Compact now and then so the array does not grow without bound.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue; returns how many frames were discarded. */
  clear(): number {
    const frames = this.length;
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return frames;
  }
}

function full(reason: string): PushResult {
  return { type: "dropped", frames: 1, reason };
}
