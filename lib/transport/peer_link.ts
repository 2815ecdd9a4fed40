// Everything this node keeps about one peer: the authenticated socket (at most one), the
// bounded send queue, the last contact time, and — on the side that dials — the reconnect
// loop with exponential backoff and jitter.

import { assertNever } from "../raft/assert.ts";
import type { NodeId } from "../raft/types.ts";
import { type Codec, type Frame, raftFrame } from "./codec.ts";
import { CLOSE_REMOVED, CLOSE_REPLACED, type Connection } from "./connection.ts";
import { SendQueue, type SendQueueLimits } from "./send_queue.ts";
import type { PeerMessage, PeerStatus, RateLimitedLog, TransportStats } from "./transport.ts";

export interface LinkLimits extends SendQueueLimits {
  /** Stop handing frames to the socket while its bufferedAmount is at least this. */
  bufferedBytesMax: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export interface LinkContext {
  selfId: NodeId;
  codec: Codec;
  limits: LinkLimits;
  counters: TransportStats;
  logs: RateLimitedLog;
  now(): number;
  random(): number;
  deliver(msg: PeerMessage): void;
  /** Opens a dialer connection to `url` for `link`. */
  dial(link: PeerLink, url: string): Connection;
}

/** While frames wait for the socket to drain, poll it this often (there is no drain event). */
const drainPollMs = 2;

export class PeerLink {
  /** The authenticated socket, if any. */
  private conn: Connection | null = null;
  /** Dialer only: the connection being established. */
  private dialing: Connection | null = null;
  private readonly queue: SendQueue;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private lastContactAt: number | null = null;
  private stopped = false;

  constructor(
    readonly id: NodeId,
    readonly url: string,
    private readonly ctx: LinkContext,
  ) {
    this.queue = new SendQueue(ctx.limits);
  }

  /** The smaller id dials, so each pair shares exactly one socket. */
  get dials(): boolean {
    return this.ctx.selfId < this.id;
  }

  start(): void {
    if (this.dials) this.connect();
  }

  status(): PeerStatus {
    const at = this.lastContactAt;
    return {
      connected: this.conn !== null,
      lastContactMs: at === null ? null : this.ctx.now() - at,
    };
  }

  isDialing(conn: Connection): boolean {
    return this.dialing === conn;
  }

  /** An authenticated connection to this peer; it replaces any older one. */
  attach(conn: Connection): void {
    if (this.dialing === conn) this.dialing = null;
    const old = this.conn;
    this.conn = conn;
    this.attempt = 0;
    if (old !== null) {
      this.dropQueued();
      old.close(CLOSE_REPLACED, "replaced by a newer connection");
    }
    this.ctx.logs.log(`up:${this.id}`, `peer ${this.id} connected`);
  }

  /** The socket `conn` closed. */
  detach(conn: Connection): void {
    if (this.dialing !== conn && this.conn !== conn) return; // an older link's socket
    if (this.dialing === conn) {
      this.dialing = null;
      if (this.attempt === 0 && !this.stopped) {
        this.ctx.logs.log(
          `unreachable:${this.id}`,
          `peer ${this.id} unreachable at ${this.url}; retrying`,
        );
      }
    }
    if (this.conn === conn) {
      this.conn = null;
      this.dropQueued();
      if (!this.stopped) this.ctx.logs.log(`down:${this.id}`, `peer ${this.id} disconnected`);
    }
    if (this.dials && !this.stopped && this.conn === null && this.dialing === null) {
      this.scheduleReconnect();
    }
  }

  send(msg: PeerMessage): void {
    if (this.conn === null) {
      this.ctx.counters.framesDropped++;
      return;
    }
    const pushed = this.pushEncoded(msg);
    if (pushed.type === "dropped") {
      this.ctx.counters.framesDropped += pushed.frames;
      this.ctx.logs.log(
        `drop:${this.id}`,
        `peer ${this.id}: dropped ${msg.type}: ${pushed.reason}`,
      );
      return;
    }
    this.drain();
  }

  receive(conn: Connection, frame: Frame): void {
    if (conn !== this.conn) return; // a replaced socket's last frames
    switch (frame.kind) {
      case "raft":
        if (!this.addressed(frame.msg)) return;
        this.accepted();
        return this.ctx.deliver(frame.msg);
      case "challenge":
      case "auth":
      case "welcome":
        return this.malformed(`${frame.kind} frame after authentication`);
      default:
        assertNever(frame, "frame");
    }
  }

  /** Stops for good (peer removed or transport closing). */
  stop(code = CLOSE_REMOVED, reason = "peer removed"): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.drainTimer);
    this.reconnectTimer = this.drainTimer = undefined;
    this.queue.clear();
    this.dialing?.close(code, reason);
    this.conn?.close(code, reason);
  }

  private pushEncoded(msg: PeerMessage) {
    const encoded = this.ctx.codec.encodeFrame(raftFrame(msg));
    if (encoded.type === "error") {
      return { type: "dropped" as const, frames: 1, reason: encoded.reason };
    }
    return this.queue.pushFrame(encoded.bytes);
  }

  /** Hands queued frames to the socket while its own buffer is below the bound. */
  private drain(): void {
    const conn = this.conn;
    if (conn === null || this.drainTimer !== undefined) return;
    while (this.queue.length > 0 && conn.socket.bufferedAmount < this.ctx.limits.bufferedBytesMax) {
      if (conn.sendBytes(this.queue.shift()!)) {
        this.ctx.counters.framesSent++;
      } else {
        this.ctx.counters.framesDropped++;
      }
    }
    if (this.queue.length > 0) {
      this.drainTimer = setTimeout(() => {
        this.drainTimer = undefined;
        this.drain();
      }, drainPollMs);
    }
  }

  private dropQueued(): void {
    clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.ctx.counters.framesDropped += this.queue.clear();
  }

  /** Only messages from this peer to this node pass: the socket authenticated `this.id`. */
  private addressed(msg: PeerMessage): boolean {
    if (msg.from === this.id && msg.to === this.ctx.selfId) return true;
    this.malformed(`misaddressed ${msg.type} from ${msg.from} to ${msg.to}`);
    return false;
  }

  private accepted(): void {
    this.ctx.counters.framesReceived++;
    this.lastContactAt = this.ctx.now();
  }

  private malformed(reason: string): void {
    this.ctx.counters.framesMalformed++;
    this.ctx.logs.log(`malformed:${this.id}`, `peer ${this.id}: dropped frame: ${reason}`);
  }

  private connect(): void {
    if (this.stopped) return;
    try {
      this.dialing = this.ctx.dial(this, this.url);
    } catch (e) {
      // A malformed address: retrying cannot help until setPeers brings a new one.
      const why = e instanceof Error ? e.message : String(e);
      this.ctx.logs.log(`dial:${this.id}`, `peer ${this.id}: cannot dial ${this.url}: ${why}`);
    }
  }

  private scheduleReconnect(): void {
    const { reconnectMinMs, reconnectMaxMs } = this.ctx.limits;
    const delayMs = backoffMs(this.attempt, reconnectMinMs, reconnectMaxMs, this.ctx.random);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delayMs);
  }
}

/** Exponential backoff from minMs doubling to maxMs, with ±50% jitter so peers do not retry
 * in lockstep. `attempt` counts failures since the last success, from 0. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number) {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return base * (0.5 + random());
}
