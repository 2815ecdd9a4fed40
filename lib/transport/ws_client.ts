// A minimal RFC 6455 WebSocket client over Deno.connect, for the dialing side of peer links.
//
// Why not `new WebSocket(url)`: Deno's client writes a frame's header and its payload in two
// writes with Nagle's algorithm on, so the payload of every message between ~1 KiB and 64 KiB
// waits for the peer's delayed ACK: measured 47 ms round trips for an 8.6 KB append (0.03 ms
// below 1 KiB; the server side of Deno.upgradeWebSocket does not have the problem). Here every
// frame leaves in one write, and TCP_NODELAY is set so back-to-back writes do not wait either.
//
// It does exactly what peer traffic needs: ws:// only, binary messages out, binary and text
// in, fragmentation, ping/pong and the close handshake; no extensions, no subprotocols.

import type { PeerSocket, SocketHandlers } from "./peer_socket.ts";
import { ByteBuffer, encodeClientFrame, takeBatch } from "./ws_frames.ts";
import { concatBytes } from "../bytes.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const responseHeadBytesMax = 16 * 1024;
/** How long to wait for the server's close frame (or TCP close) after ours. */
const closeWaitMs = 1000;

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export interface WsClientOptions {
  /** A message (after reassembly of fragments) larger than this closes the connection. */
  messageBytesMax: number;
}

type State = "connecting" | "open" | "closing" | "closed";

interface Target {
  hostname: string;
  port: number;
  host: string;
  path: string;
}

export class WsClient implements PeerSocket {
  private state: State = "connecting";
  private handlers: SocketHandlers | null = null;
  private conn: Deno.TcpConn | null = null;
  private readonly abort = new AbortController();
  private readonly input = new ByteBuffer();
  private writes: Uint8Array[] = [];
  private writing = false;
  private buffered = 0;
  private closeSent = false;
  private closeCode = 1006;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  private fragments: Uint8Array[] = [];
  private fragmentBytes = 0;
  private fragmentOpcode = 0;

  /** Throws at once on a URL that is not ws://host:port/...; everything else is asynchronous. */
  constructor(url: string, private readonly options: WsClientOptions) {
    const target = parseTarget(url);
    this.run(target).catch(() => {}).finally(() => this.teardown());
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  get bufferedAmount(): number {
    return this.buffered;
  }

  listen(handlers: SocketHandlers): void {
    this.handlers = handlers;
  }

  send(bytes: Uint8Array): void {
    if (this.state === "open") this.enqueue(encodeClientFrame(OP_BINARY, bytes));
  }

  close(code: number, reason: string): void {
    if (this.state === "connecting") return this.teardown();
    if (this.state !== "open") return;
    this.state = "closing";
    this.sendClose(code, reason);
    this.closeTimer = setTimeout(() => this.teardown(), closeWaitMs);
  }

  private async run(target: Target): Promise<void> {
    const conn = await Deno.connect({
      hostname: target.hostname,
      port: target.port,
      signal: this.abort.signal,
    });
    if (this.state !== "connecting") return conn.close(); // closed while connecting
    this.conn = conn;
    conn.setNoDelay(true);
    const leftover = await upgrade(conn, target);
    if (this.state !== "connecting") return;
    this.state = "open";
    this.emit((h) => h.open());
    this.input.push(leftover);
    this.parse();
    const buffer = new Uint8Array(64 * 1024);
    while (this.state === "open" || this.state === "closing") {
      const n = await conn.read(buffer);
      if (n === null) return;
      this.input.push(buffer.subarray(0, n));
      this.parse();
    }
  }

  /** Parses every complete frame in the input buffer. */
  private parse(): void {
    while (this.state === "open" || this.state === "closing") {
      const input = this.input;
      if (input.length < 2) return;
      const b0 = input.at(0);
      const b1 = input.at(1);
      if ((b0 & 0x70) !== 0) return this.fail("reserved bits set");
      if ((b1 & 0x80) !== 0) return this.fail("masked frame from the server");
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (input.length < 4) return;
        length = (input.at(2) << 8) | input.at(3);
        offset = 4;
      } else if (length === 127) {
        if (input.length < 10) return;
        length = input.u32(2) * 2 ** 32 + input.u32(6);
        offset = 10;
      }
      if (length > this.options.messageBytesMax) return this.fail(`frame of ${length} bytes`);
      if (input.length < offset + length) return;
      this.frame((b0 & 0x80) !== 0, b0 & 0x0f, input.take(offset, length));
    }
  }

  private frame(fin: boolean, opcode: number, payload: Uint8Array): void {
    switch (opcode) {
      case OP_CLOSE:
        return this.closeReceived(payload);
      case OP_PING:
        if (!fin || payload.length > 125) return this.fail("bad ping");
        return this.enqueue(encodeClientFrame(OP_PONG, payload));
      case OP_PONG:
        return;
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragmentOpcode !== 0) return this.fail("new message inside a fragmented one");
        if (fin) return this.deliver(opcode, payload);
        this.fragmentOpcode = opcode;
        this.fragments = [payload];
        this.fragmentBytes = payload.length;
        return;
      case OP_CONTINUATION:
        return this.continuation(fin, payload);
      default:
        return this.fail(`unknown opcode ${opcode}`);
    }
  }

  private continuation(fin: boolean, payload: Uint8Array): void {
    if (this.fragmentOpcode === 0) return this.fail("continuation without a message");
    this.fragments.push(payload);
    this.fragmentBytes += payload.length;
    if (this.fragmentBytes > this.options.messageBytesMax) return this.fail("message too big");
    if (!fin) return;
    const whole = concatBytes(this.fragments);
    const opcode = this.fragmentOpcode;
    this.fragmentOpcode = 0;
    this.fragments = [];
    this.fragmentBytes = 0;
    this.deliver(opcode, whole);
  }

  private deliver(opcode: number, payload: Uint8Array): void {
    if (this.state !== "open") return;
    // `payload` is a fresh copy that owns its whole buffer.
    const data = opcode === OP_BINARY
      ? payload.buffer as ArrayBuffer
      : new TextDecoder().decode(payload);
    this.emit((h) => h.message(data));
  }

  private closeReceived(payload: Uint8Array): void {
    this.closeCode = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
    if (this.closeSent) return this.teardown(); // the answer to ours: done
    // The server closes: answer, then wait for it to drop the TCP connection.
    this.state = "closing";
    this.sendClose(this.closeCode === 1005 ? 1000 : this.closeCode, "");
    this.closeTimer = setTimeout(() => this.teardown(), closeWaitMs);
  }

  private sendClose(code: number, reason: string): void {
    const text = new TextEncoder().encode(reason).subarray(0, 123);
    const payload = new Uint8Array(2 + text.length);
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    payload.set(text, 2);
    this.closeSent = true;
    this.enqueue(encodeClientFrame(OP_CLOSE, payload));
  }

  /** A protocol violation by the server: drop the connection (close code 1006 locally). */
  private fail(_reason: string): void {
    this.closeCode = 1006;
    this.teardown();
  }

  private enqueue(frame: Uint8Array): void {
    this.writes.push(frame);
    this.buffered += frame.length;
    if (!this.writing) this.pump();
  }

  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (this.writes.length > 0 && this.conn !== null && this.state !== "closed") {
        const batch = takeBatch(this.writes);
        await writeAll(this.conn, batch);
        this.buffered -= batch.length;
      }
    } catch {
      this.teardown();
    } finally {
      this.writing = false;
    }
  }

  /** Calls a handler. Its exceptions are the application's: they surface as uncaught errors
   * (as from a WebSocket's event handler), not as a failure of this connection. */
  private emit(call: (h: SocketHandlers) => void): void {
    if (this.handlers === null) return;
    try {
      call(this.handlers);
    } catch (e) {
      reportError(e);
    }
  }

  private teardown(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearTimeout(this.closeTimer);
    this.abort.abort();
    try {
      this.conn?.close();
    } catch {
      // already closed
    }
    this.writes = [];
    this.buffered = 0;
    this.fragments = [];
    const code = this.closeCode;
    // Asynchronously, like a WebSocket: close() never re-enters its caller's handlers.
    queueMicrotask(() => this.emit((h) => h.close(code)));
  }
}

function parseTarget(url: string): Target {
  const u = new URL(url);
  if (u.protocol !== "ws:") throw new TypeError(`only ws:// peer addresses are supported: ${url}`);
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    hostname,
    port: Number(u.port || 80),
    host: u.host,
    path: (u.pathname || "/") + u.search,
  };
}

/** The HTTP/1.1 upgrade; returns any bytes read past the response head. */
async function upgrade(conn: Deno.TcpConn, target: Target): Promise<Uint8Array> {
  const key = base64(crypto.getRandomValues(new Uint8Array(16)));
  const request = `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}\r\n` +
    `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
    `Sec-WebSocket-Version: 13\r\n\r\n`;
  await writeAll(conn, new TextEncoder().encode(request));
  const head = new ByteBuffer();
  const buffer = new Uint8Array(4096);
  let end = -1;
  while (end < 0) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("connection closed during the upgrade");
    head.push(buffer.subarray(0, n));
    end = head.indexOfHeadEnd();
    if (end < 0 && head.length > responseHeadBytesMax) throw new Error("response head too long");
  }
  const lines = new TextDecoder().decode(head.take(0, end)).split("\r\n");
  head.take(0, 4);
  if (!/^HTTP\/1\.1 101\b/.test(lines[0])) throw new Error(`upgrade refused: ${lines[0]}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  if (
    headers.get("upgrade")?.toLowerCase() !== "websocket" ||
    headers.get("sec-websocket-accept") !== base64(new Uint8Array(digest)) ||
    headers.has("sec-websocket-extensions")
  ) {
    throw new Error("bad upgrade response");
  }
  return head.take(0, head.length);
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
