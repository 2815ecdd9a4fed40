// A bounded per-peer queue of outgoing frames. Items are encoded frames, or a snapshot that
// is encoded chunk by chunk as the socket drains, so a many-MB snapshot never sits in memory
// twice and is never limited by the queue's byte bound.

import type { Codec, SnapshotRequest } from "./codec.ts";
import { snapshotFrames } from "./snapshot_chunks.ts";

type Item =
  | { type: "frame"; bytes: Uint8Array }
  | { type: "snapshot"; frames: ReturnType<typeof snapshotFrames>; next: number };

export interface SendQueueLimits {
  /** Items (frames, or whole snapshots) waiting per peer. */
  sendQueueMax: number;
  /** Bytes of encoded frames waiting per peer. */
  sendQueueBytesMax: number;
  snapshotChunkBytes: number;
}

export type PushResult = { type: "queued" } | { type: "dropped"; frames: number; reason: string };

export class SendQueue {
  private items: Item[] = [];
  private head = 0;
  private bytes = 0;
  private snapshots = 0;

  constructor(private readonly limits: SendQueueLimits, private readonly codec: Codec) {}

  get length(): number {
    return this.items.length - this.head;
  }

  pushFrame(bytes: Uint8Array): PushResult {
    if (this.length >= this.limits.sendQueueMax) return full(1, "send queue full");
    if (this.bytes + bytes.byteLength > this.limits.sendQueueBytesMax) {
      return full(1, "send queue bytes full");
    }
    this.items.push({ type: "frame", bytes });
    this.bytes += bytes.byteLength;
    return { type: "queued" };
  }

  /** One snapshot at a time: Raft resends it later if this one is dropped. */
  pushSnapshot(msg: SnapshotRequest, seq: number): PushResult {
    const frames = snapshotFrames(msg, seq, this.limits.snapshotChunkBytes);
    if (this.snapshots > 0) return full(frames.length, "a snapshot is already queued");
    if (this.length >= this.limits.sendQueueMax) return full(frames.length, "send queue full");
    this.items.push({ type: "snapshot", frames, next: 0 });
    this.snapshots++;
    return { type: "queued" };
  }

  /**
   * The next encoded frame to send, or null when empty. Throws nothing: a snapshot chunk that
   * fails to encode abandons the rest of that snapshot (the receiver discards the partial one).
   */
  shift():
    | { type: "frame"; bytes: Uint8Array }
    | { type: "error"; frames: number; reason: string }
    | null {
    if (this.length === 0) return null;
    const item = this.items[this.head];
    if (item.type === "frame") {
      this.advance();
      this.bytes -= item.bytes.byteLength;
      return item;
    }
    const encoded = this.codec.encodeFrame(item.frames[item.next]);
    item.next++;
    const rest = item.frames.length - item.next;
    if (item.next === item.frames.length || encoded.type === "error") {
      this.advance();
      this.snapshots--;
    }
    if (encoded.type === "error") {
      return { type: "error", frames: rest + 1, reason: encoded.reason };
    }
    return { type: "frame", bytes: encoded.bytes };
  }

  /** Empties the queue; returns how many frames were discarded. */
  clear(): number {
    let frames = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      frames += item.type === "frame" ? 1 : item.frames.length - item.next;
    }
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    this.snapshots = 0;
    return frames;
  }

  private advance(): void {
    this.head++;
    // Compact now and then so the array does not grow without bound.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

function full(frames: number, reason: string): PushResult {
  return { type: "dropped", frames, reason };
}
