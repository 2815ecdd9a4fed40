// The in-memory twin of WsTransport, for unit tests: the same contract, the same stats, and
// switches to cut links. Delivery is asynchronous (a microtask), never re-entrant into send().

import type { NodeId } from "../raft/types.ts";
import {
  emptyStats,
  type PeerAddress,
  type PeerMessage,
  type PeerStatus,
  type Transport,
  type TransportStats,
} from "./transport.ts";

export interface MemoryTransportOptions {
  /** Messages in flight to one peer before further sends are dropped. */
  sendQueueMax?: number;
  /** Clock for lastContactMs; injectable for fake-clock tests. */
  now?: () => number;
}

export class MemoryNetwork {
  private readonly live = new Map<NodeId, MemoryTransport>();
  private readonly cut = new Set<string>();

  transport(id: NodeId, options: MemoryTransportOptions = {}): MemoryTransport {
    return new MemoryTransport(this, id, options);
  }

  /** Cuts the link between a and b in both directions, including messages in flight. */
  partition(a: NodeId, b: NodeId): void {
    this.cut.add(linkKey(a, b));
  }

  /** Cuts every link of `id`, to every node, present or future. */
  isolate(id: NodeId): void {
    this.cut.add(linkKey(id, "*"));
  }

  /** Restores every link. */
  heal(): void {
    this.cut.clear();
  }

  /** Whether a message from a to b would be delivered now. */
  linked(a: NodeId, b: NodeId): boolean {
    const cut = this.cut.has(linkKey(a, b)) || this.cut.has(linkKey(a, "*")) ||
      this.cut.has(linkKey(b, "*"));
    return !cut && this.live.has(a) && this.live.has(b);
  }

  /** @internal */
  register(t: MemoryTransport): void {
    this.live.set(t.id, t);
  }

  /** @internal */
  unregister(t: MemoryTransport): void {
    if (this.live.get(t.id) === t) this.live.delete(t.id);
  }

  /** @internal */
  lookup(id: NodeId): MemoryTransport | undefined {
    return this.live.get(id);
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

export class MemoryTransport implements Transport {
  private readonly counters = emptyStats();
  private readonly peers = new Set<NodeId>();
  private readonly inflight = new Map<NodeId, number>();
  private readonly lastContactAt = new Map<NodeId, number>();
  private readonly sendQueueMax: number;
  private readonly now: () => number;
  private handler: ((msg: PeerMessage) => void) | null = null;
  private state: "new" | "started" | "closed" = "new";

  constructor(
    private readonly network: MemoryNetwork,
    readonly id: NodeId,
    options: MemoryTransportOptions,
  ) {
    this.sendQueueMax = options.sendQueueMax ?? 4096;
    this.now = options.now ?? (() => performance.now());
  }

  start(): Promise<void> {
    if (this.state === "new") {
      this.state = "started";
      this.network.register(this);
    }
    return Promise.resolve();
  }

  send(msg: PeerMessage): void {
    const to = msg.to;
    const inflight = this.inflight.get(to) ?? 0;
    const target = this.network.lookup(to);
    if (
      this.state !== "started" || !this.peers.has(to) || target === undefined ||
      !target.knows(this.id) || !this.network.linked(this.id, to) ||
      inflight >= this.sendQueueMax
    ) {
      this.counters.framesDropped++;
      return;
    }
    // A copy, as the wire would make: neither side may alias the other's buffers.
    const copy = structuredClone(msg);
    this.inflight.set(to, inflight + 1);
    this.counters.framesSent++;
    queueMicrotask(() => {
      this.inflight.set(to, (this.inflight.get(to) ?? 1) - 1);
      // A link cut or a node stopped while the message was in flight loses it.
      if (this.network.linked(this.id, to)) target.receive(this.id, copy);
    });
  }

  onMessage(handler: (msg: PeerMessage) => void): void {
    this.handler = handler;
  }

  setPeers(peers: PeerAddress[]): void {
    const ids = new Set(peers.map((p) => p.id).filter((id) => id !== this.id));
    for (const id of this.peers) {
      if (!ids.has(id)) {
        this.peers.delete(id);
        this.lastContactAt.delete(id);
      }
    }
    for (const id of ids) this.peers.add(id);
  }

  peerStatus(): Map<NodeId, PeerStatus> {
    const status = new Map<NodeId, PeerStatus>();
    const nowMs = this.now();
    for (const id of [...this.peers].sort()) {
      const at = this.lastContactAt.get(id);
      // Like a WebSocket link: up only when both ends run and each accepts the other.
      const other = this.network.lookup(id);
      const connected = this.state === "started" && other !== undefined &&
        other.knows(this.id) && this.network.linked(this.id, id);
      status.set(id, { connected, lastContactMs: at === undefined ? null : nowMs - at });
    }
    return status;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    if (this.state !== "closed") {
      this.state = "closed";
      this.network.unregister(this);
    }
    return Promise.resolve();
  }

  /** @internal */
  knows(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /** @internal Delivery from the network; checks what WsTransport's handshake and filters do. */
  receive(from: NodeId, msg: PeerMessage): void {
    if (this.state !== "started") return;
    if (!this.peers.has(from)) {
      this.counters.authFailures++; // an unknown node would fail the handshake
      return;
    }
    if (msg.from !== from || msg.to !== this.id) {
      this.counters.framesMalformed++;
      return;
    }
    this.counters.framesReceived++;
    this.lastContactAt.set(from, this.now());
    this.handler?.(msg);
  }
}
