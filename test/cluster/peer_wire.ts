// A raw client for a node's peer port (API.md §6), for tests that speak the wire protocol
// by hand: handshakes with right and wrong secrets, and garbage of every sort.

import { encode } from "@msgpack/msgpack";
import { dialerMac, importSecret } from "../../lib/transport/handshake.ts";
import { decodeFrame, encodeFrame, type Frame } from "../../lib/transport/mod.ts";

export type Incoming =
  | { type: "frame"; frame: Frame }
  | { type: "undecodable"; reason: string }
  | { type: "text"; text: string }
  | { type: "closed"; code: number };

/** One WebSocket to a peer port; incoming messages queue up until `next()` takes them. */
export class RawPeerSocket {
  private readonly queue: Incoming[] = [];
  private readonly waiters: ((item: Incoming) => void)[] = [];
  private done = false;
  readonly closed: Promise<void>;

  private constructor(private readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    let resolveClosed = () => {};
    this.closed = new Promise((resolve) => resolveClosed = resolve);
    ws.onmessage = (event: MessageEvent) => {
      const data: unknown = event.data;
      if (typeof data === "string") return this.push({ type: "text", text: data });
      const decoded = decodeFrame(data as ArrayBuffer);
      this.push(
        decoded.type === "ok"
          ? { type: "frame", frame: decoded.frame }
          : { type: "undecodable", reason: decoded.reason },
      );
    };
    ws.onerror = () => {}; // the close event follows
    ws.onclose = (event: CloseEvent) => {
      this.done = true;
      this.push({ type: "closed", code: event.code });
      resolveClosed();
    };
  }

  /** Opens a socket to `url`; rejects if it closes before it opens. */
  static async open(url: string): Promise<RawPeerSocket> {
    const ws = new WebSocket(url);
    const socket = new RawPeerSocket(ws);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      socket.closed.then(() => reject(new Error(`${url}: closed before it opened`)));
    });
    return socket;
  }

  get isClosed(): boolean {
    return this.done;
  }

  /** The next message, or the close; fails after `timeoutMs` of silence. */
  next(timeoutMs = 5000): Promise<Incoming> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no message or close within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (item: Incoming) => {
        clearTimeout(timer);
        resolve(item);
      };
      this.waiters.push(waiter);
    });
  }

  /** Skips messages until the socket closes; returns its close code. */
  async untilClosed(timeoutMs = 5000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const item = await this.next(Math.max(1, deadline - performance.now()));
      if (item.type === "closed") return item.code;
    }
  }

  send(data: string | Uint8Array): void {
    if (this.done) return;
    this.ws.send(typeof data === "string" ? data : new Uint8Array(data));
  }

  /** Closes (if still open) and waits for the close to finish. */
  async close(): Promise<void> {
    if (!this.done) {
      try {
        this.ws.close(1000, "test done");
      } catch {
        // already closing
      }
    }
    await this.closed;
  }

  private push(item: Incoming): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(item);
    else this.queue.push(item);
  }
}

/**
 * Answers the acceptor's challenge claiming to be `dialer`, with a MAC made from `secret`
 * (right or wrong). Returns what the acceptor sends next: a welcome frame, or the close.
 */
export async function dialAs(
  socket: RawPeerSocket,
  dialer: string,
  acceptor: string,
  secret: string,
): Promise<Incoming> {
  const first = await socket.next();
  if (first.type !== "frame" || first.frame.kind !== "challenge") {
    throw new Error(`expected a challenge, got ${JSON.stringify(first)}`);
  }
  const key = await importSecret(secret);
  const mac = await dialerMac(key, first.frame.nonce, dialer, acceptor);
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const auth = encodeFrame({ kind: "auth", id: dialer, nonce, mac });
  if (auth.type !== "ok") throw new Error(auth.reason);
  socket.send(auth.bytes);
  return await socket.next();
}

/** Frames no peer should ever send, each with a name for failure messages. */
export function garbageFrames(
  from: string,
  to: string,
): { name: string; data: string | Uint8Array }[] {
  const append = {
    v: 1,
    kind: "raft",
    msg: {
      type: "append",
      from,
      to,
      term: 1,
      prevLogIndex: 0,
      prevLogTerm: 0,
      entries: [{ term: 1, index: 1, type: "normal", data: new Uint8Array(64) }],
      commitIndex: 0,
    },
  };
  const valid = encode(append);
  const nested = new Uint8Array(100_001).fill(0x91); // [[[[...]]]] 100k deep
  nested[100_000] = 0xc0;
  return [
    { name: "random bytes", data: crypto.getRandomValues(new Uint8Array(512)) },
    { name: "a text frame", data: "hello, raft" },
    { name: "an empty binary frame", data: new Uint8Array(0) },
    { name: "a truncated MessagePack frame", data: valid.slice(0, Math.floor(valid.length / 2)) },
    { name: "MessagePack that is not an envelope", data: encode([1, 2, 3]) },
    { name: "an envelope of an unknown version", data: encode({ ...append, v: 99 }) },
    {
      name: "a raft message with a negative term",
      data: encode({ ...append, msg: { ...append.msg, term: -5 } }),
    },
    {
      name: "a raft message of an unknown type",
      data: encode({ ...append, msg: { ...append.msg, type: "becomeLeader" } }),
    },
    { name: "MessagePack nested 100k deep", data: nested },
    // bin32 declaring 2 GiB, then 4 bytes: a decoder must not trust the length.
    {
      name: "a bin32 claiming 2 GiB",
      data: new Uint8Array([0xc6, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
    },
    // map32 declaring 16M entries.
    {
      name: "a map32 claiming 16M entries",
      data: new Uint8Array([0xdf, 0x00, 0xff, 0xff, 0xff, 0xc0]),
    },
  ];
}
