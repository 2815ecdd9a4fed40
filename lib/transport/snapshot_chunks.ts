// A snapshot may be many MB: it travels as one snapBegin frame (the message with empty data)
// and consecutive snapChunk frames, and is reassembled before one `snapshot` Message is
// delivered. One transfer in flight per peer; a new begin or any gap abandons the old one.

import type { OutFrame, SnapshotRequest } from "./codec.ts";

export const snapshotChunkBytesDefault = 256 * 1024;

/** The frames that carry `msg`, in order. `seq` distinguishes transfers on one link. */
export function snapshotFrames(msg: SnapshotRequest, seq: number, chunkBytes: number): OutFrame[] {
  const data = msg.snapshot.data;
  const header: SnapshotRequest = {
    ...msg,
    snapshot: { ...msg.snapshot, data: new Uint8Array(0) },
  };
  const frames: OutFrame[] = [{ kind: "snapBegin", seq, total: data.byteLength, msg: header }];
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) {
    // subarray: no copy here; the encoder copies each slice into its frame.
    const chunk = data.subarray(offset, Math.min(offset + chunkBytes, data.byteLength));
    frames.push({ kind: "snapChunk", seq, offset, data: chunk });
  }
  return frames;
}

export type AssemblyResult =
  | { type: "pending" }
  | { type: "done"; msg: SnapshotRequest }
  | { type: "error"; reason: string };

interface Transfer {
  seq: number;
  total: number;
  received: number;
  chunks: Uint8Array[];
  header: SnapshotRequest;
}

export class SnapshotAssembler {
  private transfer: Transfer | null = null;

  constructor(private readonly snapshotBytesMax: number) {}

  /** Bytes currently held for the transfer in progress. */
  get bufferedBytes(): number {
    return this.transfer?.received ?? 0;
  }

  begin(seq: number, total: number, header: SnapshotRequest): AssemblyResult {
    this.transfer = null; // a new transfer supersedes any unfinished one
    if (total > this.snapshotBytesMax) {
      return {
        type: "error",
        reason: `snapshot of ${total} bytes exceeds snapshotBytesMax ${this.snapshotBytesMax}`,
      };
    }
    this.transfer = { seq, total, received: 0, chunks: [], header };
    return total === 0 ? this.finish() : { type: "pending" };
  }

  chunk(seq: number, offset: number, data: Uint8Array): AssemblyResult {
    const t = this.transfer;
    if (t === null || t.seq !== seq) {
      return { type: "error", reason: `snapshot chunk for unknown transfer ${seq}` };
    }
    if (offset !== t.received || t.received + data.byteLength > t.total) {
      this.transfer = null;
      return {
        type: "error",
        reason:
          `snapshot chunk at ${offset}+${data.byteLength}, expected ${t.received} of ${t.total}`,
      };
    }
    if (data.byteLength === 0) return { type: "error", reason: "empty snapshot chunk" };
    t.chunks.push(data);
    t.received += data.byteLength;
    return t.received === t.total ? this.finish() : { type: "pending" };
  }

  /** Discards any partial transfer (on disconnect). */
  reset(): void {
    this.transfer = null;
  }

  private finish(): AssemblyResult {
    const t = this.transfer!;
    this.transfer = null;
    const data = new Uint8Array(t.total);
    let at = 0;
    for (const chunk of t.chunks) {
      data.set(chunk, at);
      at += chunk.byteLength;
    }
    const msg: SnapshotRequest = { ...t.header, snapshot: { ...t.header.snapshot, data } };
    return { type: "done", msg };
  }
}
