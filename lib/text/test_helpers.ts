// Shared by the text protocol tests: replicas over the in-memory storage and network, a
// strict reader of the protocol's reply forms, a small TCP client, and a seeded RNG.

import type { HostPort } from "../config/mod.ts";
import type { Replica } from "../replica/replica.ts";
import { openTestReplicas, waitForLeader } from "../replica/test_cluster.ts";
import { MemoryNetwork } from "../transport/mod.ts";
import { startTextServer, type TextServer, type TextServerOptions } from "./server.ts";
import { concatBytes } from "../bytes.ts";

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();
export const LOOPBACK: HostPort = { hostname: "127.0.0.1", port: 0 };

// ---------------------------------------------------------------------- replicas

export interface ReplicaOptions {
  /** A fake wall clock for expiry (Raft ticks stay real). */
  now?: () => number;
  /** false: opened but never started, so it never learns of a leader. */
  start?: boolean;
  valueBytesMax?: number;
  /** Text addresses ("host:port") the replicated configuration starts with. */
  textAddresses?: Record<string, string>;
}

/** One voter, "a": it elects itself within a few ticks. */
export async function singleReplica(o: ReplicaOptions = {}): Promise<Replica> {
  const replicas = await openReplicas(new MemoryNetwork(), ["a"], o);
  const replica = replicas[0];
  if (o.start !== false) await waitForLeader(replicas);
  return replica;
}

/** Three voters a, b, c in one process, with a settled leader. */
export async function threeReplicas(o: ReplicaOptions = {}): Promise<Replica[]> {
  const replicas = await openReplicas(new MemoryNetwork(), ["a", "b", "c"], o);
  await waitForLeader(replicas);
  return replicas;
}

async function openReplicas(
  net: MemoryNetwork,
  ids: string[],
  o: ReplicaOptions,
): Promise<Replica[]> {
  const opened = await openTestReplicas(net, ids, {
    now: o.now,
    start: o.start,
    textAddresses: o.textAddresses,
    kvLimits: o.valueBytesMax === undefined ? {} : { valueBytesMax: o.valueBytesMax },
  });
  return opened.map((r) => r.replica);
}

export { waitForLeader };

export async function stopAll(replicas: Replica[]): Promise<void> {
  for (const r of replicas) await r.stop();
}

/** A server on a free loopback port, quiet, with test-friendly defaults. */
export function startTestServer(
  replica: Replica,
  o: Partial<TextServerOptions> = {},
): TextServer {
  return startTextServer({
    replica,
    listen: LOOPBACK,
    textForward: false,
    maxValueBytes: 1024 * 1024,
    log: () => {},
    ...o,
  });
}

// ---------------------------------------------------------------------- replies

export type TextReply =
  | { type: "ok"; version: number }
  | { type: "deleted" }
  | { type: "error"; code: "ERR_VERSION" | "ERR_NOT_FOUND" | "ERR_CMD_ERR" | "ERR_INTERNAL" }
  | { type: "redirect"; host: string; port: number }
  | { type: "value"; value: Uint8Array }
  | { type: "valueMeta"; version: number; exptime: number; value: Uint8Array };

const ERROR_CODES = new Set(["ERR_VERSION", "ERR_NOT_FOUND", "ERR_CMD_ERR", "ERR_INTERNAL"]);
const NUMBER = /^(0|[1-9][0-9]*)$/;
const REPLY_LINE_MAX = 1024;

/** Parses exactly the documented reply forms; anything else throws. */
export class ReplyReader {
  #buf = new Uint8Array(0);
  #start = 0;

  get bufferedBytes(): number {
    return this.#buf.byteLength - this.#start;
  }

  push(chunk: Uint8Array): void {
    const held = this.#buf.subarray(this.#start);
    const grown = new Uint8Array(held.byteLength + chunk.byteLength);
    grown.set(held);
    grown.set(chunk, held.byteLength);
    this.#buf = grown;
    this.#start = 0;
  }

  next(): TextReply | null {
    const rest = this.#buf.subarray(this.#start);
    const cr = findCrlf(rest);
    if (cr < 0) {
      if (rest.byteLength > REPLY_LINE_MAX) throw new Error("reply line too long");
      return null;
    }
    const line = decoder.decode(rest.subarray(0, cr));
    const fields = line.split(" ");
    if (fields[0] === "VALUE") return this.#value(rest, fields, cr + 2);
    const reply = parseReplyLine(fields, line);
    this.#start += cr + 2;
    return reply;
  }

  #value(rest: Uint8Array, fields: string[], bodyAt: number): TextReply | null {
    if (!(fields.length === 2 || fields.length === 4) || !fields.slice(1).every(isNumber)) {
      throw new Error(`bad VALUE line ${JSON.stringify(fields.join(" "))}`);
    }
    const numbers = fields.slice(1).map(Number);
    const numbytes = numbers[numbers.length - 1];
    if (rest.byteLength < bodyAt + numbytes + 2) return null;
    const end = bodyAt + numbytes;
    if (rest[end] !== 13 || rest[end + 1] !== 10) {
      throw new Error("VALUE body not followed by CRLF");
    }
    const value = rest.slice(bodyAt, end);
    this.#start += end + 2;
    return numbers.length === 1
      ? { type: "value", value }
      : { type: "valueMeta", version: numbers[0], exptime: numbers[1], value };
  }
}

function parseReplyLine(fields: string[], line: string): TextReply {
  if (fields[0] === "OK" && fields.length === 2 && isNumber(fields[1])) {
    return { type: "ok", version: Number(fields[1]) };
  }
  if (line === "DELETED") return { type: "deleted" };
  if (fields.length === 1 && ERROR_CODES.has(line)) {
    return { type: "error", code: line as Extract<TextReply, { type: "error" }>["code"] };
  }
  if (fields[0] === "ERR_REDIRECT" && fields.length === 3 && isNumber(fields[2])) {
    return { type: "redirect", host: fields[1], port: Number(fields[2]) };
  }
  throw new Error(`undocumented reply line ${JSON.stringify(line)}`);
}

function isNumber(s: string): boolean {
  return NUMBER.test(s);
}

function findCrlf(buf: Uint8Array): number {
  for (let i = buf.indexOf(13); i >= 0 && i + 1 < buf.byteLength; i = buf.indexOf(13, i + 1)) {
    if (buf[i + 1] === 10) return i;
  }
  return -1;
}

/** Shorthands for assertions. */
export const OK = (version: number): TextReply => ({ type: "ok", version });
export const ERR = (code: Extract<TextReply, { type: "error" }>["code"]): TextReply => ({
  type: "error",
  code,
});
export const VALUE = (text: string): TextReply => ({ type: "value", value: encoder.encode(text) });

// ---------------------------------------------------------------------- client

const READ_TIMEOUT_MS = 10_000;

export class TextClient {
  readonly #conn: Deno.TcpConn;
  readonly #reader = new ReplyReader();
  #eof = false;
  #closed = false;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(port: number, hostname = "127.0.0.1"): Promise<TextClient> {
    return new TextClient(await Deno.connect({ hostname, port }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    let written = 0;
    while (written < bytes.byteLength) written += await this.#conn.write(bytes.subarray(written));
  }

  /** Exactly `n` replies (throws if the connection ends first). */
  async replies(n: number): Promise<TextReply[]> {
    const out: TextReply[] = [];
    while (out.length < n) {
      const reply = this.#reader.next();
      if (reply !== null) {
        out.push(reply);
        continue;
      }
      if (!await this.#fill()) {
        throw new Error(`connection closed after ${out.length} of ${n} replies`);
      }
    }
    return out;
  }

  async reply(): Promise<TextReply> {
    return (await this.replies(1))[0];
  }

  /** Every reply until the server closes; throws on trailing garbage unless `allowPartial`
   * (a connection reset may cut the last reply short). */
  async untilClosed(allowPartial = false): Promise<TextReply[]> {
    const out: TextReply[] = [];
    for (;;) {
      const reply = this.#reader.next();
      if (reply !== null) {
        out.push(reply);
        continue;
      }
      if (!await this.#fill()) break;
    }
    if (this.#reader.bufferedBytes > 0 && !allowPartial) {
      throw new Error("connection closed mid-reply");
    }
    return out;
  }

  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }

  /** false at EOF. A stuck server fails the test instead of hanging it. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = new Uint8Array(64 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), READ_TIMEOUT_MS);
    });
    try {
      const n = await Promise.race([this.#conn.read(chunk).catch(() => null), timeout]);
      if (n === "timeout") {
        this.close();
        throw new Error(`no reply within ${READ_TIMEOUT_MS} ms`);
      }
      if (n === null) {
        this.#eof = true;
        return false;
      }
      this.#reader.push(chunk.subarray(0, n));
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------- randomness

export { mulberry32 as seededRandom } from "../../test/rng.ts";

// ---------------------------------------------------------------------- fuzz inputs

const WORDS = ["set", "get", "getm", "cas", "delete", "noreply", "SET", "", "x"];
const NUMBERS = ["0", "1", "3", "10", "-1", "4096", "4097", "65536", "99999999999", "1e3", ""];

/** Random bytes, or commands with random fields, values and corruption. */
export function fuzzInput(random: () => number): Uint8Array {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  if (random() < 0.25) {
    return Uint8Array.from({ length: Math.floor(random() * 3000) }, () => random() * 256);
  }
  const parts: Uint8Array[] = [];
  const commands = 1 + Math.floor(random() * 12);
  for (let i = 0; i < commands; i++) {
    const fields = [pick(WORDS), `k${Math.floor(random() * 5)}`];
    const extra = Math.floor(random() * 5);
    for (let f = 0; f < extra; f++) fields.push(random() < 0.8 ? pick(NUMBERS) : pick(WORDS));
    parts.push(encoder.encode(`${fields.join(random() < 0.9 ? " " : "  ")}\r\n`));
    const numbytes = Number(fields[fields.length - 1]);
    if (Number.isSafeInteger(numbytes) && numbytes >= 0 && numbytes < 5000 && random() < 0.8) {
      const value = Uint8Array.from({ length: numbytes }, () => random() * 256);
      parts.push(value, encoder.encode(random() < 0.9 ? "\r\n" : "\n"));
    }
  }
  const out = concatBytes(parts);
  if (random() < 0.2 && out.byteLength > 0) out[Math.floor(random() * out.byteLength)] ^= 0xff;
  return out;
}
