// The leader's view of one follower: nextIndex/matchIndex (Figure 2) plus flow control.
// probe: one append at a time until the follower's position is known;
// replicate: optimistic pipelining with a bounded number of appends in flight;
// snapshot: waiting for an InstallSnapshot to land.

import { assert } from "./assert.ts";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  matchIndex = 0;
  nextIndex: number;
  state: ProgressState = "probe";
  /** In probe state: an append is outstanding; cleared by any response or heartbeat ack. */
  probeSent = false;
  /** Last index of each append in flight (replicate state), ascending. */
  private inflight: number[] = [];
  /** The snapshot index being installed (snapshot state). */
  pendingSnapshot = 0;
  /** Ticks spent in snapshot state: a lost snapshot falls back to probing. */
  snapshotTicks = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The highest ReadIndex round this follower has acknowledged in the current term. */
  readSeqAcked = 0;

  constructor(nextIndex: number, private readonly maxInflight: number) {
    this.nextIndex = nextIndex;
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the follower has at least the snapshot.
    if (this.state === "snapshot") {
      this.nextIndex = Math.max(this.matchIndex + 1, this.pendingSnapshot + 1);
    } else {
      this.nextIndex = this.matchIndex + 1;
    }
    this.reset("probe");
  }

  becomeReplicate(): void {
    this.nextIndex = this.matchIndex + 1;
    this.reset("replicate");
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.reset("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.inflight = [];
    this.pendingSnapshot = 0;
    this.snapshotTicks = 0;
  }

  /** A success ack up to `index`; false if it is stale. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    // Only an ack that advances matchIndex answers the probe: a stale (e.g. duplicated) ack
    // must not release another probe, or duplicates would multiply. Heartbeat acks unpause too.
    if (index > this.matchIndex) {
      this.matchIndex = index;
      this.probeSent = false;
      updated = true;
    }
    this.nextIndex = Math.max(this.nextIndex, index + 1);
    this.inflight = this.inflight.filter((last) => last > index);
    return updated;
  }

  /** A rejection of the append whose prevLogIndex was `rejected`; `probeFrom` is where the
   * leader's log and the follower's can first agree. False if the rejection is stale. */
  maybeDecrTo(rejected: number, probeFrom: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.matchIndex) return false;
      this.becomeProbe();
      this.nextIndex = Math.max(this.matchIndex + 1, Math.min(rejected, probeFrom + 1));
      return true;
    }
    // In probe state only the rejection of the last probe counts, and never one at or below
    // matchIndex (acknowledged entries cannot be missing; re-probing them would loop forever).
    if (this.nextIndex - 1 !== rejected || rejected <= this.matchIndex) return false;
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(rejected, probeFrom + 1));
    this.probeSent = false;
    return true;
  }

  /** The leader sent entries up to `lastIndex`. */
  sentEntries(lastIndex: number, count: number): void {
    switch (this.state) {
      case "replicate":
        if (count > 0) {
          this.nextIndex = lastIndex + 1;
          this.inflight.push(lastIndex);
          assert(this.inflight.length <= this.maxInflight, "inflight overflow");
        }
        break;
      case "probe":
        this.probeSent = true;
        break;
      case "snapshot":
        assert(false, "sending entries in snapshot state");
    }
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflight.length >= this.maxInflight;
      case "snapshot":
        return true;
    }
  }

  /** A heartbeat ack proves the follower is alive: let one more append out, so lost appends
   * cannot stall a full pipeline forever. */
  onHeartbeatAck(): void {
    this.probeSent = false;
    if (this.state === "replicate" && this.inflight.length >= this.maxInflight) {
      this.inflight.shift();
    }
  }

  inflightCount(): number {
    return this.inflight.length;
  }
}
