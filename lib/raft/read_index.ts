// The leader's ReadIndex queue (dissertation §6.4). Each read records the commitIndex when it
// arrived and a round number (`seq`). A heartbeat carries the newest round; once a majority of
// voters has acknowledged round s, every read with seq ≤ s is confirmed: the leader was still
// the leader after those reads arrived. One heartbeat round confirms a whole batch.

import type { NodeId } from "./types.ts";

export interface PendingRead {
  seq: number;
  ctx: number;
  from: NodeId;
  index: number;
}

export class ReadIndexQueue {
  /** The newest round handed out; never reset, so acks from old rounds stay comparable. */
  seq = 0;
  /** The round carried by the last heartbeat broadcast. */
  broadcastSeq = 0;
  private pending: PendingRead[] = [];
  /** Reads that arrived before the leader committed an entry of its term (§6.4 step 1). */
  private beforeCommit: { ctx: number; from: NodeId }[] = [];

  constructor(private readonly max: number) {}

  size(): number {
    return this.pending.length + this.beforeCommit.length;
  }

  isFull(): boolean {
    return this.size() >= this.max;
  }

  deferUntilCommit(ctx: number, from: NodeId): void {
    this.beforeCommit.push({ ctx, from });
  }

  takeDeferred(): { ctx: number; from: NodeId }[] {
    const out = this.beforeCommit;
    this.beforeCommit = [];
    return out;
  }

  add(ctx: number, from: NodeId, index: number): void {
    this.seq++;
    this.pending.push({ seq: this.seq, ctx, from, index });
  }

  /** A heartbeat round for the newest reads is needed: none is in flight for them. */
  needsRound(confirmedSeq: number): boolean {
    return this.pending.length > 0 && this.broadcastSeq <= confirmedSeq &&
      this.broadcastSeq < this.seq;
  }

  /** Removes and returns the reads confirmed by round `confirmedSeq`. */
  release(confirmedSeq: number): PendingRead[] {
    let n = 0;
    while (n < this.pending.length && this.pending[n].seq <= confirmedSeq) n++;
    return n === 0 ? [] : this.pending.splice(0, n);
  }

  /** Everything still waiting (leadership lost): the caller fails them. */
  drain(): { ctx: number; from: NodeId }[] {
    const out = [...this.beforeCommit, ...this.pending];
    this.beforeCommit = [];
    this.pending = [];
    return out;
  }
}
