// The peer transport seen by the replica: fire-and-forget Raft messages between nodes.
// Raft tolerates loss, duplication and reordering across connections, so the transport
// never blocks or throws on send: it drops (and counts) when it cannot deliver.

import type { Message, NodeId, SnapshotMeta } from "../raft/types.ts";

/**
 * InstallSnapshot in pieces. These are not Raft core messages: the replica streams a snapshot
 * from its storage and stages it into the follower's storage, so neither side holds it whole in
 * memory and a broken transfer resumes where the follower's staged bytes end.
 * `offset` 0 with empty `data` asks the follower how far it got.
 */
export interface SnapChunk {
  type: "snapChunk";
  from: NodeId;
  to: NodeId;
  term: number;
  meta: SnapshotMeta;
  /** The snapshot's size in bytes. */
  total: number;
  offset: number;
  data: Uint8Array;
}

/** The follower has `offset` bytes of snapshot `index`/`snapTerm` staged durably. */
export interface SnapAck {
  type: "snapAck";
  from: NodeId;
  to: NodeId;
  term: number;
  index: number;
  snapTerm: number;
  offset: number;
}

/** Everything that travels between peers. */
export type PeerMessage = Message | SnapChunk | SnapAck;

export interface PeerAddress {
  id: NodeId;
  /** The peer's WebSocket listener, ws://host:port (nodes.json `peer`). */
  peer: string;
}

export interface PeerStatus {
  connected: boolean;
  /** Milliseconds since the last frame received from this peer; null if never. */
  lastContactMs: number | null;
}

export interface TransportStats {
  framesSent: number;
  framesReceived: number;
  /** Outgoing frames dropped: no link, queue full, or too large to encode. */
  framesDropped: number;
  /** Incoming frames rejected: undecodable, invalid, text, misaddressed, or out of order. */
  framesMalformed: number;
  authFailures: number;
}

export interface Transport {
  /** Listen (real) or register with the network (memory). */
  start(): Promise<void>;
  /** Never blocks, never throws; drops when there is no link or the queue is full. */
  send(msg: PeerMessage): void;
  /** Only validated messages from authenticated peers, addressed to this node. One handler:
   * a later call replaces the earlier one. */
  onMessage(handler: (msg: PeerMessage) => void): void;
  /** Membership changes: connect to new peers, drop removed ones. This node's own id is ignored. */
  setPeers(peers: PeerAddress[]): void;
  peerStatus(): Map<NodeId, PeerStatus>;
  stats(): TransportStats;
  /** Stops everything (listener, sockets, timers). Idempotent. */
  close(): Promise<void>;
}

export function emptyStats(): TransportStats {
  return {
    framesSent: 0,
    framesReceived: 0,
    framesDropped: 0,
    framesMalformed: 0,
    authFailures: 0,
  };
}

/**
 * One log line per key per interval: a peer flooding garbage must not flood the log.
 * Suppressed lines are counted and reported with the next line for that key.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { atMs: number; suppressed: number }>();
  private static readonly keysMax = 1024;

  constructor(
    private readonly write: (line: string) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  log(key: string, line: string): void {
    const nowMs = this.now();
    const seen = this.last.get(key);
    if (seen && nowMs - seen.atMs < this.intervalMs) {
      seen.suppressed++;
      return;
    }
    const note = seen && seen.suppressed > 0 ? ` (${seen.suppressed} similar suppressed)` : "";
    // Bound the table: forgetting old keys only means one extra line later.
    if (!seen && this.last.size >= RateLimitedLog.keysMax) this.last.clear();
    this.last.set(key, { atMs: nowMs, suppressed: 0 });
    this.write(line + note);
  }
}
