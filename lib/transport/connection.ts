// One WebSocket to a peer, from the first byte through the authentication handshake to open.
// Until the handshake succeeds nothing but handshake frames is accepted, and anything else
// (garbage, text, a wrong MAC, silence past the timeout) closes the socket.

import type { NodeId } from "../raft/types.ts";
import type { Codec, Frame, OutFrame } from "./codec.ts";
import {
  acceptorMac,
  dialerMac,
  newNonce,
  verifyAcceptorMac,
  verifyDialerMac,
} from "./handshake.ts";
import type { PeerSocket } from "./peer_socket.ts";
import type { RateLimitedLog, TransportStats } from "./transport.ts";

/** Close codes (4000–4999 are free for applications). */
export const CLOSE_AUTH_FAILED = 4001;
export const CLOSE_REPLACED = 4002;
export const CLOSE_REMOVED = 4003;
export const CLOSE_TIMEOUT = 4004;
export const CLOSE_SHUTDOWN = 1000;

/** Frames that may arrive while a MAC is being computed; a flood beyond this is hostile. */
const pendingFramesMax = 256;

export type Role =
  | { type: "dialer"; peer: NodeId } // we dialed `peer`
  | { type: "acceptor"; remote: Deno.NetAddr }; // someone at `remote` dialed us

export interface ConnectionContext {
  selfId: NodeId;
  key: CryptoKey;
  codec: Codec;
  handshakeTimeoutMs: number;
  counters: TransportStats;
  logs: RateLimitedLog;
  /** Whether `id` may dial us: a known peer whose id sorts before ours. */
  mayDial(id: NodeId): boolean;
}

export interface ConnectionEvents {
  /** The handshake succeeded: `peer` is authenticated. */
  onOpen(conn: Connection, peer: NodeId): void;
  /** A valid frame after the handshake. */
  onFrame(conn: Connection, frame: Frame): void;
  /** The socket is gone (at any phase). Fires exactly once. */
  onClose(conn: Connection): void;
}

type Phase =
  | { type: "awaitChallenge" } // dialer
  | { type: "awaitAuth"; nonce: Uint8Array } // acceptor
  | { type: "awaitWelcome"; nonce2: Uint8Array } // dialer
  | { type: "verifying" } // a MAC computation is in progress
  | { type: "open"; peer: NodeId }
  | { type: "closed" };

export class Connection {
  private phase: Phase;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Frames received while a MAC was being computed, replayed in order afterwards. */
  private pending: (ArrayBuffer | string)[] = [];
  private socketOpened = false;
  /** The authenticated peer, once the handshake has succeeded. */
  peer: NodeId | null = null;
  readonly closed: Promise<void>;

  constructor(
    readonly socket: PeerSocket,
    readonly role: Role,
    private readonly ctx: ConnectionContext,
    private readonly events: ConnectionEvents,
  ) {
    this.phase = role.type === "dialer" ? { type: "awaitChallenge" } : {
      type: "awaitAuth",
      nonce: newNonce(),
    };
    let resolveClosed = () => {};
    this.closed = new Promise((resolve) => resolveClosed = resolve);
    socket.listen({
      open: () => this.opened(),
      message: (data) => this.received(data),
      close: (code) => {
        const handshaking = this.phase.type !== "open" && this.phase.type !== "closed";
        if (handshaking && code === CLOSE_AUTH_FAILED) this.refused();
        this.finish();
        resolveClosed();
        events.onClose(this);
      },
    });
    this.timer = setTimeout(() => this.timedOut(), ctx.handshakeTimeoutMs);
  }

  /** Who is on the other end, for log lines. */
  get who(): string {
    if (this.phase.type === "open") return this.phase.peer;
    const role = this.role;
    return role.type === "dialer" ? role.peer : `${role.remote.hostname}:${role.remote.port}`;
  }

  /** Rate-limit key for auth log lines: per peer, or per remote host (not per port, which a
   * flood of connections would vary). */
  private get authKey(): string {
    return `auth:${this.role.type === "dialer" ? this.role.peer : this.role.remote.hostname}`;
  }

  get isOpen(): boolean {
    return this.phase.type === "open";
  }

  /** Sends an encoded frame; false if the socket cannot take it. */
  sendBytes(bytes: Uint8Array): boolean {
    if (!this.socket.isOpen) return false;
    try {
      this.socket.send(bytes);
      return true;
    } catch {
      return false;
    }
  }

  close(code: number, reason: string): void {
    this.finish();
    this.socket.close(code, reason);
  }

  private finish(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.phase = { type: "closed" };
    this.pending = [];
  }

  private opened(): void {
    this.socketOpened = true;
    if (this.phase.type === "awaitAuth") {
      this.sendFrame({ kind: "challenge", nonce: this.phase.nonce });
    }
  }

  private timedOut(): void {
    this.timer = undefined;
    if (this.phase.type === "open" || this.phase.type === "closed") return;
    if (!this.socketOpened) {
      // Not an authentication failure: the peer is slow or unreachable. The dialer retries.
      this.close(CLOSE_TIMEOUT, "connect timeout");
      return;
    }
    this.fail(`handshake not completed within ${this.ctx.handshakeTimeoutMs} ms`);
  }

  private fail(reason: string): void {
    if (this.phase.type === "closed") return;
    this.ctx.counters.authFailures++;
    this.ctx.logs.log(this.authKey, `peer auth failed: ${this.who}: ${reason}`);
    this.close(CLOSE_AUTH_FAILED, "authentication failed");
  }

  /** The other side rejected our handshake (it logs its reason; we log that it happened). */
  private refused(): void {
    this.ctx.counters.authFailures++;
    this.ctx.logs.log(this.authKey, `peer auth failed: ${this.who}: refused by the peer`);
  }

  private sendFrame(frame: OutFrame): void {
    const encoded = this.ctx.codec.encodeFrame(frame);
    if (encoded.type === "ok") this.sendBytes(encoded.bytes);
  }

  private received(item: ArrayBuffer | string): void {
    if (this.phase.type === "verifying") {
      if (this.pending.length >= pendingFramesMax) return this.fail("flood during handshake");
      this.pending.push(item);
      return;
    }
    this.process(item);
  }

  private process(item: ArrayBuffer | string): void {
    if (this.phase.type === "closed") return;
    if (typeof item === "string") return this.malformed("text frame");
    const decoded = this.ctx.codec.decodeFrame(item);
    if (decoded.type === "error") return this.malformed(decoded.reason);
    if (this.phase.type === "open") return this.events.onFrame(this, decoded.frame);
    this.handshake(decoded.frame);
  }

  private malformed(reason: string): void {
    this.ctx.counters.framesMalformed++;
    if (this.phase.type !== "open") return this.fail(`garbage before authentication: ${reason}`);
    this.ctx.logs.log(`malformed:${this.who}`, `peer ${this.who}: dropped frame: ${reason}`);
  }

  private handshake(frame: Frame): void {
    const phase = this.phase;
    if (phase.type === "awaitChallenge" && frame.kind === "challenge") {
      return this.verifyThen(() => this.answerChallenge(frame.nonce));
    }
    if (phase.type === "awaitAuth" && frame.kind === "auth") {
      return this.verifyThen(() => this.checkAuth(phase.nonce, frame.id, frame.nonce, frame.mac));
    }
    if (phase.type === "awaitWelcome" && frame.kind === "welcome") {
      return this.verifyThen(() => this.checkWelcome(phase.nonce2, frame.mac));
    }
    this.fail(`unexpected ${frame.kind} frame in phase ${phase.type}`);
  }

  /** Runs one async handshake step; frames arriving meanwhile wait in `pending`. */
  private verifyThen(step: () => Promise<Phase | string>): void {
    this.phase = { type: "verifying" };
    step().then(
      (next) => this.stepDone(next),
      (e) => this.stepDone(`handshake error: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  private stepDone(next: Phase | string): void {
    if (this.phase.type === "closed") return; // closed meanwhile
    if (typeof next === "string") return this.fail(next);
    this.phase = next;
    if (next.type === "open") {
      this.peer = next.peer;
      clearTimeout(this.timer);
      this.timer = undefined;
      this.events.onOpen(this, next.peer);
    }
    const queued = this.pending;
    this.pending = [];
    for (const item of queued) {
      if (this.phase.type === "verifying") this.pending.push(item);
      else this.process(item);
    }
  }

  private async answerChallenge(nonce: Uint8Array): Promise<Phase | string> {
    if (this.role.type !== "dialer") return "challenge sent to the acceptor";
    const nonce2 = newNonce();
    const mac = await dialerMac(this.ctx.key, nonce, this.ctx.selfId, this.role.peer);
    this.sendFrame({ kind: "auth", id: this.ctx.selfId, nonce: nonce2, mac });
    return { type: "awaitWelcome", nonce2 };
  }

  private async checkAuth(
    nonce: Uint8Array,
    id: NodeId,
    nonce2: Uint8Array,
    mac: Uint8Array,
  ): Promise<Phase | string> {
    const self = this.ctx.selfId;
    if (!this.ctx.mayDial(id)) return `node ${id} is not a peer that dials ${self}`;
    if (!(await verifyDialerMac(this.ctx.key, mac, nonce, id, self))) {
      return `bad MAC from ${id} (wrong secret?)`;
    }
    // Re-check: membership may have changed while the MAC was being verified.
    if (!this.ctx.mayDial(id)) return `node ${id} was removed during the handshake`;
    this.sendFrame({ kind: "welcome", mac: await acceptorMac(this.ctx.key, nonce2, self, id) });
    return { type: "open", peer: id };
  }

  private async checkWelcome(nonce2: Uint8Array, mac: Uint8Array): Promise<Phase | string> {
    if (this.role.type !== "dialer") return "welcome sent to the acceptor";
    const peer = this.role.peer;
    if (!(await verifyAcceptorMac(this.ctx.key, mac, nonce2, peer, this.ctx.selfId))) {
      return `bad MAC in welcome from ${peer} (wrong secret?)`;
    }
    return { type: "open", peer };
  }
}
