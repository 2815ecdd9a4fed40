// A TCP fault proxy for one peer link: it listens on a loopback port, and for every connection
// it accepts, dials the target and pumps bytes both ways. Each direction has its own mode:
//
//   pass       forward at once
//   delay      forward each unit `delayMs` later (order kept)
//   drop       discard whole WebSocket messages with `probability`
//   blackhole  forward nothing and stop reading: bytes wait in the kernel's socket buffers and
//              the sender's queues (TCP back-pressure), then flow, late, when the mode changes —
//              what a link that silently loses connectivity and comes back does to TCP
//   cut        close the connection (both directions: TCP has no one-way close that a
//              WebSocket peer would survive), and close every new one at once
//
// "forward" is from the side that connected (the dialer) to the target; "backward" is back.
// A one-way partition is blackhole (or drop with probability 1) in one direction only.
//
// Dropping bytes from the middle of a TCP stream would corrupt the WebSocket framing and look
// like a broken peer rather than a lossy network, so with `framing: "websocket"` the proxy
// parses the stream into units — the HTTP upgrade head, then whole WebSocket frames — and drops
// whole messages (every fragment of a fragmented one; never a close frame, never the head).
// With `framing: "bytes"` units are raw reads, and a unit that drop mode would discard closes
// the connection instead.

import { FrameSplitter, type Unit } from "./ws_units.ts";

export type Direction = "forward" | "backward";

export type LinkMode =
  | { type: "pass" }
  | { type: "delay"; delayMs: number }
  | { type: "drop"; probability: number }
  | { type: "blackhole" }
  | { type: "cut" };

export const PASS: LinkMode = { type: "pass" };

export interface ProxyOptions {
  target: { hostname: string; port: number };
  framing?: "websocket" | "bytes";
  /** For drop decisions (seeded in chaos runs). */
  random?: () => number;
  /** Bytes read but not yet written, per direction of a connection, before reading pauses. */
  queuedBytesMax?: number;
  /** A WebSocket frame larger than this closes the connection. */
  frameBytesMax?: number;
  /** Concurrent connections; more are closed at once. */
  connectionsMax?: number;
}

export interface ProxyStats {
  accepted: number;
  refused: number;
  bytes: Record<Direction, number>;
  unitsDropped: Record<Direction, number>;
  closedByCut: number;
}

const READ_BYTES = 64 * 1024;
const QUEUED_BYTES_MAX = 8 * 1024 * 1024;
const FRAME_BYTES_MAX = 64 * 1024 * 1024;
const CONNECTIONS_MAX = 64;

/** A promise that settles when `wake()` is called; made fresh after each wake. */
class Signal {
  private resolve: () => void = () => {};
  private promise = this.fresh();

  private fresh(): Promise<void> {
    return new Promise((resolve) => (this.resolve = resolve));
  }

  wait(): Promise<void> {
    return this.promise;
  }

  wake(): void {
    this.resolve();
    this.promise = this.fresh();
  }
}

export class FaultProxy {
  readonly port: number;
  private readonly listener: Deno.TcpListener;
  private readonly modes: Record<Direction, LinkMode> = { forward: PASS, backward: PASS };
  private readonly pipes = new Set<Pipe>();
  private readonly acceptLoop: Promise<void>;
  private closed = false;
  readonly stats: ProxyStats = {
    accepted: 0,
    refused: 0,
    bytes: { forward: 0, backward: 0 },
    unitsDropped: { forward: 0, backward: 0 },
    closedByCut: 0,
  };

  constructor(readonly options: ProxyOptions) {
    this.listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = (this.listener.addr as Deno.NetAddr).port;
    this.acceptLoop = this.accept();
  }

  mode(direction: Direction): LinkMode {
    return this.modes[direction];
  }

  setMode(direction: Direction, mode: LinkMode): void {
    this.modes[direction] = mode;
    for (const pipe of this.pipes) {
      if (mode.type === "cut") {
        if (!pipe.isClosed) this.stats.closedByCut++;
        pipe.close();
      } else {
        pipe.wake();
      }
    }
  }

  isCut(): boolean {
    return this.modes.forward.type === "cut" || this.modes.backward.type === "cut";
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get connections(): number {
    return this.pipes.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.listener.close();
    } catch {
      // already closed
    }
    const pipes = [...this.pipes];
    for (const pipe of pipes) pipe.close();
    await this.acceptLoop;
    await Promise.all(pipes.map((pipe) => pipe.done));
  }

  private async accept(): Promise<void> {
    while (!this.closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.listener.accept();
      } catch {
        return; // the listener was closed
      }
      if (this.closed) {
        conn.close();
        return;
      }
      if (this.isCut() || this.pipes.size >= (this.options.connectionsMax ?? CONNECTIONS_MAX)) {
        this.stats.refused++;
        conn.close();
        continue;
      }
      this.stats.accepted++;
      const pipe = new Pipe(this, conn);
      this.pipes.add(pipe);
      pipe.done.finally(() => this.pipes.delete(pipe));
    }
  }
}

/** One accepted connection and its connection to the target. */
class Pipe {
  readonly done: Promise<void>;
  private target: Deno.TcpConn | null = null;
  private closed = false;
  private pumps: Pump[] = [];

  constructor(private readonly proxy: FaultProxy, private readonly client: Deno.TcpConn) {
    this.done = this.run();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [this.client, this.target]) {
      try {
        conn?.close();
      } catch {
        // already closed
      }
    }
    this.wake();
  }

  /** Something changed (a mode, or the pipe closed): both pumps look again. */
  wake(): void {
    for (const pump of this.pumps) pump.wake();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async run(): Promise<void> {
    try {
      this.target = await Deno.connect(this.proxy.options.target);
      this.target.setNoDelay(true);
      this.client.setNoDelay(true);
    } catch {
      this.close();
      return;
    }
    if (this.closed) {
      this.target.close(); // closed while it was connecting
      return;
    }
    this.pumps = [
      new Pump(this.proxy, this, "forward", this.client, this.target),
      new Pump(this.proxy, this, "backward", this.target, this.client),
    ];
    await Promise.all(this.pumps.map((pump) => pump.run()));
  }
}

/** One direction of a pipe: a reader that cuts the stream into units and a writer. */
class Pump {
  private readonly queue: { unit: Unit; releaseMs: number }[] = [];
  private queuedBytes = 0;
  private lastReleaseMs = 0;
  /** Woken when the queue, the mode or the pipe changes; reader and writer wait on it. */
  private readonly signal = new Signal();
  private readonly splitter: FrameSplitter | null;
  /** Whether the message being forwarded (its first fragment seen) is being dropped. */
  private droppingMessage = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly pipe: Pipe,
    private readonly direction: Direction,
    private readonly from: Deno.TcpConn,
    private readonly to: Deno.TcpConn,
  ) {
    this.splitter = (proxy.options.framing ?? "websocket") === "websocket"
      ? new FrameSplitter(proxy.options.frameBytesMax ?? FRAME_BYTES_MAX)
      : null;
  }

  async run(): Promise<void> {
    await Promise.all([this.read(), this.write()]);
  }

  wake(): void {
    this.signal.wake();
  }

  private mode(): LinkMode {
    return this.proxy.mode(this.direction);
  }

  /** Waits while reading must pause: blackholed, or too much queued. */
  private async readGate(): Promise<void> {
    const max = this.proxy.options.queuedBytesMax ?? QUEUED_BYTES_MAX;
    while (!this.pipe.isClosed && (this.mode().type === "blackhole" || this.queuedBytes > max)) {
      await this.signal.wait();
    }
  }

  private async read(): Promise<void> {
    const buffer = new Uint8Array(READ_BYTES);
    try {
      while (!this.pipe.isClosed) {
        await this.readGate();
        if (this.pipe.isClosed) break;
        const n = await this.from.read(buffer);
        if (n === null) break;
        const chunk = buffer.slice(0, n);
        const units = this.splitter
          ? this.splitter.push(chunk)
          : [{ kind: "data", bytes: chunk, first: true, last: true } as Unit];
        for (const unit of units) this.accept(unit);
      }
    } catch {
      // closed under us, or a protocol error from the splitter: either ends the pipe
    }
    this.pipe.close();
  }

  private accept(unit: Unit): void {
    const mode = this.mode();
    if (this.dropped(unit, mode)) {
      this.proxy.stats.unitsDropped[this.direction]++;
      if (this.splitter === null) this.pipe.close();
      return;
    }
    const now = performance.now();
    const delayMs = mode.type === "delay" ? mode.delayMs : 0;
    this.lastReleaseMs = Math.max(this.lastReleaseMs, now + delayMs);
    this.queue.push({ unit, releaseMs: this.lastReleaseMs });
    this.queuedBytes += unit.bytes.length;
    this.signal.wake();
  }

  private dropped(unit: Unit, mode: LinkMode): boolean {
    switch (unit.kind) {
      case "head":
      case "close":
        return false;
      case "control":
        return mode.type === "drop" && this.random() < mode.probability;
      case "data":
        // A message's fate is decided at its first fragment and holds for the rest.
        if (unit.first) {
          this.droppingMessage = mode.type === "drop" && this.random() < mode.probability;
        }
        return this.droppingMessage;
    }
  }

  private random(): number {
    return (this.proxy.options.random ?? Math.random)();
  }

  private async write(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      while (!this.pipe.isClosed) {
        const head = this.queue[0];
        if (head === undefined) {
          await this.signal.wait();
          continue;
        }
        if (this.mode().type === "blackhole") {
          await this.signal.wait();
          continue;
        }
        const waitMs = head.releaseMs - performance.now();
        if (waitMs > 0) {
          await Promise.race([
            new Promise((resolve) => (timer = setTimeout(resolve, waitMs))),
            this.signal.wait(),
          ]);
          clearTimeout(timer);
          continue;
        }
        this.queue.shift();
        await writeAll(this.to, head.unit.bytes);
        this.queuedBytes -= head.unit.bytes.length;
        this.proxy.stats.bytes[this.direction] += head.unit.bytes.length;
        this.signal.wake();
      }
    } catch {
      // the socket closed under us
    } finally {
      clearTimeout(timer);
    }
    this.pipe.close();
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}
