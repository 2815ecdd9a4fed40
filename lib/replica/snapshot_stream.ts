// InstallSnapshot as a stream. The leader reads its snapshot from storage one chunk at a time
// and keeps at most a small window unacknowledged; the follower stages every chunk in its own
// storage as it arrives and acknowledges the bytes it holds durably. Neither side ever holds the
// snapshot whole in memory for the transfer, and a transfer broken by a lost connection, a
// restart of either side or a change of leader resumes where the follower's staged bytes end.
//
//   leader                                   follower
//   snapChunk offset 0, no data  ───────▶    stage (index, term): keep its bytes, or start anew
//                                ◀───────    snapAck offset = bytes staged
//   snapChunk offset, data  (≤ window) ──▶   written at offset if it is the staged length
//                                ◀───────    snapAck offset = bytes staged
//   ...                                      all staged: hand the snapshot to Raft, which
//                                            installs it (storage.installStaged) and answers
//                                            with an appendResp as for any InstallSnapshot.
//
// Chunks that arrive out of place are not written; the ack says where to go on. No ack for
// `resendMs`: the leader sends again from the last acked offset. No progress for `abandonMs`:
// it gives up and tells Raft, which probes and starts over (resuming the staged bytes).

import type { NodeId, SnapshotMeta, SnapshotRequest } from "../raft/mod.ts";
import { type RaftStorage, SNAPSHOT_CHUNK_BYTES, type SnapshotId } from "../storage/mod.ts";
import type { SnapAck, SnapChunk } from "../transport/mod.ts";

export interface StreamConfig {
  /** Bytes per chunk: a multiple of SNAPSHOT_CHUNK_BYTES (storage's unit). */
  chunkBytes: number;
  /** Chunks sent ahead of the follower's acknowledgement. */
  windowChunks: number;
  /** Without an ack for this long, send again from the last acked offset. */
  resendMs: number;
  /** Without progress for this long, give the transfer up. */
  abandonMs: number;
  /** The largest snapshot a follower accepts. */
  snapshotBytesMax: number;
}

export const defaultStreamConfig: StreamConfig = {
  chunkBytes: 4 * SNAPSHOT_CHUNK_BYTES,
  windowChunks: 4,
  resendMs: 1_000,
  abandonMs: 15_000,
  snapshotBytesMax: 1024 * 1024 * 1024,
};

/** What the streams need from the replica around them. */
export interface StreamHost {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  send(msg: SnapChunk | SnapAck): void;
  now(): number;
  /** The current term, and whether this node leads in it. */
  term(): number;
  isLeader(): boolean;
  /** Whether the Raft log already holds everything up to `meta` (no data needed). */
  covers(meta: SnapshotMeta): boolean;
  /** A complete snapshot (or, when covered, one without data) for Raft to step. */
  deliver(msg: SnapshotRequest): void;
  /** The transfer to `to` failed: Raft should probe and try again. */
  failed(to: NodeId): void;
  /** A storage call failed: the node must stop. */
  fatal(error: unknown): void;
  log(line: string): void;
}

export interface StreamStats {
  bytesSent: number;
  bytesReceived: number;
  /** Chunks refused: malformed, from a stale term, or beyond the receive queue. */
  chunksRejected: number;
  /** Snapshot bytes held for transfers now: unacknowledged sends plus chunks waiting to be
   * written. Bounded by the window (sending) and the receive queue (receiving). */
  bufferedBytes: number;
  transfersActive: number;
}

interface Outgoing {
  to: NodeId;
  meta: SnapshotMeta;
  term: number;
  total: number;
  /** The follower has staged this much (its last ack). */
  acked: number;
  /** The next byte to send. */
  next: number;
  reading: boolean;
  /** Whether the follower has answered at all. */
  answered: boolean;
  lastAckAt: number;
  lastProgressAt: number;
}

export class SnapshotStreams {
  private readonly cfg: StreamConfig;
  private readonly outgoing = new Map<NodeId, Outgoing>();
  private readonly queue: SnapChunk[] = [];
  private queuedBytes = 0;
  private receiving = false;
  private rejectLoggedAt = -Infinity;
  private readonly counters = { bytesSent: 0, bytesReceived: 0, chunksRejected: 0 };

  constructor(private readonly host: StreamHost, config: Partial<StreamConfig> = {}) {
    this.cfg = { ...defaultStreamConfig, ...config };
    const { chunkBytes, windowChunks } = this.cfg;
    if (chunkBytes <= 0 || chunkBytes % SNAPSHOT_CHUNK_BYTES !== 0 || windowChunks < 1) {
      throw new RangeError(`chunkBytes must be a positive multiple of ${SNAPSHOT_CHUNK_BYTES}`);
    }
  }

  stats(): StreamStats {
    let inFlight = 0;
    for (const t of this.outgoing.values()) inFlight += t.next - t.acked;
    return {
      ...this.counters,
      bufferedBytes: inFlight + this.queuedBytes,
      transfersActive: this.outgoing.size,
    };
  }

  /** Whether a snapshot is being sent: the leader keeps its current one readable meanwhile. */
  get sending(): boolean {
    return this.outgoing.size > 0;
  }

  // ---------------------------------------------------------------- leader side

  /** Raft wants `to` to have snapshot `meta` (the current one in storage). */
  offer(to: NodeId, meta: SnapshotMeta, term: number): void {
    const running = this.outgoing.get(to);
    if (running && sameId(running.meta, meta) && running.term === term) return;
    const current = this.host.storage.snapshotInfo().current;
    if (current === null || !sameId(current, meta)) {
      this.outgoing.delete(to);
      return this.host.failed(to);
    }
    const now = this.host.now();
    const t: Outgoing = {
      to,
      meta,
      term,
      total: current.bytes,
      acked: 0,
      next: 0,
      reading: false,
      answered: false,
      lastAckAt: now,
      lastProgressAt: now,
    };
    this.outgoing.set(to, t);
    this.host.log(`sending snapshot ${meta.index}/${meta.term} (${current.bytes} bytes) to ${to}`);
    this.sendChunk(t, 0, new Uint8Array(0)); // where is the follower?
  }

  onAck(m: SnapAck): void {
    const t = this.outgoing.get(m.from);
    if (!t || t.meta.index !== m.index || t.meta.term !== m.snapTerm) return;
    if (m.offset > t.total) return void this.counters.chunksRejected++;
    const now = this.host.now();
    t.lastAckAt = now;
    if (!t.answered || m.offset > t.acked) t.lastProgressAt = now;
    if (m.offset < t.acked) t.next = m.offset; // it lost its staged bytes: from there again
    t.acked = m.offset;
    t.answered = true;
    if (t.next < t.acked) t.next = t.acked;
    if (t.acked === t.total) {
      // Raft hears of it from the follower's own answer to the completed snapshot.
      this.outgoing.delete(m.from);
      return;
    }
    this.pump(t);
  }

  /** Called every tick: drop transfers of a past term, resend or give up on silent ones. */
  tick(): void {
    const now = this.host.now();
    for (const t of [...this.outgoing.values()]) {
      if (!this.host.isLeader() || this.host.term() !== t.term) {
        this.outgoing.delete(t.to);
      } else if (now - t.lastProgressAt >= this.cfg.abandonMs) {
        this.outgoing.delete(t.to);
        this.host.log(`snapshot to ${t.to} made no progress at ${t.acked}/${t.total}; retrying`);
        this.host.failed(t.to);
      } else if (now - t.lastAckAt >= this.cfg.resendMs) {
        t.lastAckAt = now;
        t.next = t.acked;
        if (t.answered) this.pump(t);
        else this.sendChunk(t, 0, new Uint8Array(0));
      }
    }
  }

  /** Keeps up to a window of chunks in flight, reading each from storage as it goes. */
  private pump(t: Outgoing): void {
    const windowBytes = this.cfg.windowChunks * this.cfg.chunkBytes;
    if (t.reading || t.next >= t.total || t.next - t.acked >= windowBytes) return;
    const offset = t.next;
    t.reading = true;
    this.host.storage.readSnapshot(t.meta, offset, this.cfg.chunkBytes).then((data) => {
      t.reading = false;
      if (this.outgoing.get(t.to) !== t) return; // finished, replaced or abandoned meanwhile
      if (data === null || data.length === 0) {
        // Our own newer snapshot replaced it: Raft will offer that one.
        this.outgoing.delete(t.to);
        return this.host.failed(t.to);
      }
      if (t.next === offset) {
        this.sendChunk(t, offset, data);
        t.next = offset + data.length;
      }
      this.pump(t);
    }, (e) => this.host.fatal(e));
  }

  private sendChunk(t: Outgoing, offset: number, data: Uint8Array): void {
    this.counters.bytesSent += data.length;
    this.host.send({
      type: "snapChunk",
      from: this.host.id,
      to: t.to,
      term: t.term,
      meta: t.meta,
      total: t.total,
      offset,
      data,
    });
  }

  // ---------------------------------------------------------------- follower side

  onChunk(m: SnapChunk): void {
    const bad = this.malformed(m);
    if (bad !== null) return this.reject(m, bad);
    if (m.term < this.host.term()) return this.reject(m, `stale term ${m.term}`);
    // The leader keeps a window in flight; more than two windows here means something is off.
    const queueBytesMax = 2 * this.cfg.windowChunks * this.cfg.chunkBytes;
    if (this.queuedBytes + m.data.length > queueBytesMax) {
      return this.reject(m, "receive queue full");
    }
    this.queue.push(m);
    this.queuedBytes += m.data.length;
    if (!this.receiving) this.receive().catch((e) => this.host.fatal(e));
  }

  /** Writes queued chunks one at a time, in arrival order. */
  private async receive(): Promise<void> {
    this.receiving = true;
    try {
      while (this.queue.length > 0) {
        const m = this.queue.shift()!;
        await this.stage(m);
        this.queuedBytes -= m.data.length;
      }
    } finally {
      this.receiving = false;
    }
  }

  private async stage(m: SnapChunk): Promise<void> {
    const id: SnapshotId = { index: m.meta.index, term: m.meta.term };
    const request = (data: Uint8Array): SnapshotRequest => ({
      type: "snapshot",
      from: m.from,
      to: this.host.id,
      term: m.term,
      snapshot: { meta: m.meta, data },
    });
    if (this.host.covers(m.meta)) {
      // Nothing to transfer: let Raft answer (it needs no data for a snapshot it covers).
      this.ack(m, m.total);
      return this.host.deliver(request(new Uint8Array(0)));
    }
    const storage = this.host.storage;
    let staged = await storage.stageSnapshot(id);
    if (m.data.length > 0 && m.offset === staged) {
      if (await storage.writeStaged(id, m.offset, m.data)) {
        staged += m.data.length;
        this.counters.bytesReceived += m.data.length;
      }
    }
    this.ack(m, staged);
    if (staged !== m.total) return;
    // All staged: read it back once, for the state machine. (Again only if the leader sends
    // again, e.g. after Raft refused it for a stale term; once taken, Raft covers it.)
    const data = await storage.readSnapshot(id, 0, roundUp(m.total));
    if (data === null || data.length !== m.total) return; // replaced by a newer one meanwhile
    this.host.log(`received snapshot ${id.index}/${id.term} (${m.total} bytes) from ${m.from}`);
    this.host.deliver(request(data));
  }

  private ack(m: SnapChunk, offset: number): void {
    this.host.send({
      type: "snapAck",
      from: this.host.id,
      to: m.from,
      term: this.host.term(),
      index: m.meta.index,
      snapTerm: m.meta.term,
      offset,
    });
  }

  /** Why a chunk cannot be staged as sent, or null. Storage takes whole units but the last. */
  private malformed(m: SnapChunk): string | null {
    const { offset, total } = m;
    const length = m.data.length;
    if (m.meta.index < 1) return "snapshot index 0";
    if (total < 1 || total > this.cfg.snapshotBytesMax) {
      return `total ${total} outside [1, ${this.cfg.snapshotBytesMax}]`;
    }
    if (offset + length > total) return `chunk ${offset}+${length} beyond total ${total}`;
    if (offset % SNAPSHOT_CHUNK_BYTES !== 0) return `offset ${offset} not chunk-aligned`;
    if (length % SNAPSHOT_CHUNK_BYTES !== 0 && offset + length !== total) {
      return `chunk of ${length} bytes is neither whole units nor the last`;
    }
    return null;
  }

  private reject(m: SnapChunk, reason: string): void {
    this.counters.chunksRejected++;
    const now = this.host.now();
    if (now - this.rejectLoggedAt < 1000) return; // a flood of them must not flood the log
    this.rejectLoggedAt = now;
    this.host.log(`dropped snapshot chunk from ${m.from}: ${reason}`);
  }
}

function sameId(a: SnapshotId, b: SnapshotId): boolean {
  return a.index === b.index && a.term === b.term;
}

function roundUp(bytes: number): number {
  return Math.ceil(bytes / SNAPSHOT_CHUNK_BYTES) * SNAPSHOT_CHUNK_BYTES;
}
