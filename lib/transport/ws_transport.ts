// The real transport: one authenticated WebSocket per peer pair, MessagePack frames validated
// on arrival, bounded queues, reconnect forever with backoff. See API.md §6.

import type { NodeId } from "../raft/types.ts";
import { type Codec, createCodec, frameBytesMax as frameBytesMaxDefault } from "./codec.ts";
import { CLOSE_SHUTDOWN, Connection, type ConnectionContext, type Role } from "./connection.ts";
import { importSecret } from "./handshake.ts";
import { fromWebSocket, type PeerSocket } from "./peer_socket.ts";
import { WsClient } from "./ws_client.ts";
import { type LinkContext, type LinkLimits, PeerLink } from "./peer_link.ts";
import {
  emptyStats,
  type PeerAddress,
  type PeerMessage,
  type PeerStatus,
  RateLimitedLog,
  type Transport,
  type TransportStats,
} from "./transport.ts";

export interface WsTransportOptions {
  id: NodeId;
  listen: { hostname: string; port: number };
  peers: PeerAddress[];
  /** The cluster secret both ends prove knowledge of (never sent). */
  secret: string;
  /** Frames waiting per peer; default 4096. */
  sendQueueMax?: number;
  /** Bytes of frames waiting per peer; default 64 MiB. */
  sendQueueBytesMax?: number;
  /** Keep the socket's own buffer below this; default 4 MiB. */
  bufferedBytesMax?: number;
  frameBytesMax?: number;
  /** Default 2 s. */
  handshakeTimeoutMs?: number;
  /** Reconnect backoff: from this, doubling, to reconnectMaxMs, ±50% jitter. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Sockets still authenticating at once; more are refused. Default 64. */
  handshakesMax?: number;
  log?: (line: string) => void;
  now?: () => number;
  random?: () => number;
}

/** How long close() waits for sockets to finish their closing handshake. */
const closeWaitMs = 1000;

export class WsTransport implements Transport {
  private readonly id: NodeId;
  private readonly options: WsTransportOptions;
  private readonly codec: Codec;
  private readonly limits: LinkLimits;
  private readonly counters = emptyStats();
  private readonly logs: RateLimitedLog;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly conns = new Set<Connection>();
  private handler: ((msg: PeerMessage) => void) | null = null;
  private server: Deno.HttpServer<Deno.NetAddr> | null = null;
  private connCtx: ConnectionContext | null = null;
  private state: "new" | "starting" | "started" | "closed" = "new";
  private handshaking = 0;

  constructor(options: WsTransportOptions) {
    this.id = options.id;
    this.options = options;
    const frameBytesMax = options.frameBytesMax ?? frameBytesMaxDefault;
    this.codec = createCodec({ frameBytesMax });
    this.limits = {
      sendQueueMax: options.sendQueueMax ?? 4096,
      sendQueueBytesMax: options.sendQueueBytesMax ?? 64 * 1024 * 1024,
      bufferedBytesMax: options.bufferedBytesMax ?? 4 * 1024 * 1024,
      reconnectMinMs: options.reconnectMinMs ?? 50,
      reconnectMaxMs: options.reconnectMaxMs ?? 2000,
    };
    if (options.secret.length === 0) throw new RangeError("the peer secret must not be empty");
    this.logs = new RateLimitedLog(options.log ?? ((line) => console.error(line)), 5000);
    this.setPeers(options.peers); // links wait for start() to dial
  }

  /** The bound listening port (useful with port 0). Valid after start(). */
  get port(): number {
    if (this.server === null) throw new Error("WsTransport not started");
    return this.server.addr.port;
  }

  async start(): Promise<void> {
    if (this.state !== "new") throw new Error(`WsTransport.start in state ${this.state}`);
    this.state = "starting";
    const key = await importSecret(this.options.secret);
    this.connCtx = {
      selfId: this.id,
      key,
      codec: this.codec,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? 2000,
      counters: this.counters,
      logs: this.logs,
      mayDial: (id) => id < this.id && this.links.has(id),
    };
    const { hostname, port } = this.options.listen;
    this.server = Deno.serve(
      { hostname, port, onListen: () => {} },
      (req, info) => this.accept(req, info.remoteAddr),
    );
    this.state = "started";
    for (const link of this.links.values()) link.start();
  }

  send(msg: PeerMessage): void {
    const link = this.state === "started" ? this.links.get(msg.to) : undefined;
    if (link === undefined) {
      this.counters.framesDropped++;
      return;
    }
    link.send(msg);
  }

  onMessage(handler: (msg: PeerMessage) => void): void {
    this.handler = handler;
  }

  setPeers(peers: PeerAddress[]): void {
    if (this.state === "closed") return;
    const wanted = new Map(peers.filter((p) => p.id !== this.id).map((p) => [p.id, p.peer]));
    for (const [id, link] of this.links) {
      if (wanted.get(id) !== link.url) {
        this.links.delete(id);
        link.stop();
      }
    }
    for (const [id, url] of wanted) {
      if (this.links.has(id)) continue;
      const link = new PeerLink(id, url, this.linkContext());
      this.links.set(id, link);
      if (this.state === "started") link.start();
    }
  }

  peerStatus(): Map<NodeId, PeerStatus> {
    const ids = [...this.links.keys()].sort();
    return new Map(ids.map((id) => [id, this.links.get(id)!.status()]));
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    for (const link of this.links.values()) link.stop(CLOSE_SHUTDOWN, "node shutting down");
    for (const conn of this.conns) conn.close(CLOSE_SHUTDOWN, "node shutting down");
    const closing = [...this.conns].map((c) => c.closed);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => timer = setTimeout(resolve, closeWaitMs));
    await Promise.race([Promise.all(closing), deadline]);
    clearTimeout(timer);
    if (this.server !== null) await this.server.shutdown();
  }

  private linkContext(): LinkContext {
    return {
      selfId: this.id,
      codec: this.codec,
      limits: this.limits,
      counters: this.counters,
      logs: this.logs,
      now: this.options.now ?? (() => performance.now()),
      random: this.options.random ?? Math.random,
      deliver: (msg) => this.handler?.(msg),
      dial: (link, url) => {
        // Not `new WebSocket(url)`: see ws_client.ts for the 40 ms Nagle stall it avoids.
        const socket = new WsClient(url, { messageBytesMax: 2 * this.codec.limits.frameBytesMax });
        return this.track(socket, { type: "dialer", peer: link.id });
      },
    };
  }

  /** The peer listener: WebSocket upgrades only, and only so many unauthenticated at once. */
  private accept(req: Request, remote: Deno.NetAddr): Response {
    if (this.state !== "started") return new Response("shutting down", { status: 503 });
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("raftkv peer port: WebSocket only\n", { status: 426 });
    }
    if (this.handshaking >= (this.options.handshakesMax ?? 64)) {
      this.logs.log("handshakes", `refused ${remote.hostname}: too many pending handshakes`);
      return new Response("too many pending handshakes\n", { status: 503 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    this.track(fromWebSocket(socket), { type: "acceptor", remote });
    return response;
  }

  private track(socket: PeerSocket, role: Role): Connection {
    // Only inbound handshakes are capped: outbound ones are one per peer at most.
    let pending = role.type === "acceptor";
    if (pending) this.handshaking++;
    const settled = () => {
      if (pending) this.handshaking--;
      pending = false;
    };
    const conn = new Connection(socket, role, this.connCtx!, {
      onOpen: (c, peer) => {
        settled();
        this.opened(c, peer);
      },
      onFrame: (c, frame) => this.linkOf(c)?.receive(c, frame),
      onClose: (c) => {
        settled();
        this.conns.delete(c);
        this.linkOf(c)?.detach(c);
      },
    });
    this.conns.add(conn);
    return conn;
  }

  private opened(conn: Connection, peer: NodeId): void {
    const link = this.links.get(peer);
    const expected = conn.role.type === "acceptor" || (link?.isDialing(conn) ?? false);
    if (link === undefined || !expected || this.state !== "started") {
      conn.close(CLOSE_SHUTDOWN, "no longer a peer");
      return;
    }
    link.attach(conn);
  }

  private linkOf(conn: Connection): PeerLink | undefined {
    const peer = conn.role.type === "dialer" ? conn.role.peer : conn.peer;
    return peer === null ? undefined : this.links.get(peer);
  }
}
