// An incremental, binary-safe parser for the CS733 text protocol (API.md §5). Pure: fed byte
// chunks with push(), it hands out one event at a time from next() — a command, a recoverable
// error (answer ERR_CMD_ERR, go on) or a fatal one (answer ERR_CMD_ERR, close: framing lost).
//
// Framing rules, decided here once:
// - A command line is the bytes up to the first CRLF, at most `lineBytesMax` (1 KiB) of them;
//   a longer line loses the framing (we cannot tell where the next command starts).
// - Tokens are separated by runs of spaces (leading and trailing spaces are ignored).
// - `numbytes` alone decides where a value ends; the two bytes after it must be CRLF or the
//   framing is lost. Value bytes are never scanned for commands.
// - A set/cas line that is bad in any other way (key, exptime, version, token count, a word
//   other than `noreply`) is answered once, after its value block has been skipped.
// - numbytes over `valueBytesMax` (the node's limit) is a bad line: the value is skipped as it
//   streams past (never buffered). numbytes over `skipBytesMax` is absurd — more than any client
//   would send on purpose — and closes the connection rather than swallowing it for ages.
// - Unknown command words carry no value: ERR_CMD_ERR, and the next line is a command.
//
// Memory: the buffer holds at most one line (≤ lineBytesMax + 2) or one value being collected
// (≤ valueBytesMax + 2), plus the latest chunk, provided the caller drains next() to null
// before pushing more.

import { ttlMsMax } from "../kv/mod.ts";

export interface ParserLimits {
  /** Bytes of a command line, CRLF excluded. */
  lineBytesMax: number;
  /** UTF-8 bytes of a key. */
  keyBytesMax: number;
  /** Largest value accepted (the node's maxValueBytes). */
  valueBytesMax: number;
  /** Largest numbytes skipped over (with ERR_CMD_ERR) rather than closing the connection. */
  skipBytesMax: number;
  /** Largest exptime (seconds): the state machine's longest TTL (100 years). */
  exptimeMax: number;
}

export const defaultParserLimits: ParserLimits = {
  lineBytesMax: 1024,
  keyBytesMax: 250,
  valueBytesMax: 1024 * 1024,
  skipBytesMax: 64 * 1024 * 1024,
  exptimeMax: Math.floor(ttlMsMax / 1000),
};

export type TextCommand =
  | { type: "set"; key: string; exptime: number; value: Uint8Array; noreply: boolean }
  | {
    type: "cas";
    key: string;
    exptime: number;
    /** As sent; may exceed Number.MAX_SAFE_INTEGER (then it can never match). */
    version: number;
    value: Uint8Array;
    noreply: boolean;
  }
  | { type: "get"; key: string }
  | { type: "getm"; key: string }
  | { type: "delete"; key: string };

export type ParseEvent =
  | { type: "command"; command: TextCommand }
  /** Answer ERR_CMD_ERR; the connection goes on. */
  | { type: "error"; reason: string }
  /** Answer ERR_CMD_ERR and close: the framing is lost. Nothing follows. */
  | { type: "fatal"; reason: string };

type ValueHeader =
  | { type: "set"; key: string; exptime: number; noreply: boolean }
  | { type: "cas"; key: string; exptime: number; version: number; noreply: boolean };

type State =
  | { type: "line" }
  | { type: "value"; header: ValueHeader; numbytes: number }
  | { type: "skip"; remaining: number; reason: string }
  | { type: "closed" };

const CR = 13;
const LF = 10;
const SPACE = 32;
/** Digits accepted in a number token: 10^15 is safe and above every limit. */
const DIGITS_MAX = 15;
/** A version token may be longer (it is compared, never used as a size). */
const VERSION_DIGITS_MAX = 20;
const keyDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class TextParser {
  readonly limits: ParserLimits;
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  /** Where the CRLF search resumes (no rescanning a partial line on every push). */
  #scanFrom = 0;
  #state: State = { type: "line" };

  constructor(limits: Partial<ParserLimits> = {}) {
    this.limits = { ...defaultParserLimits, ...limits };
    this.limits.skipBytesMax = Math.max(this.limits.skipBytesMax, this.limits.valueBytesMax);
  }

  /** Bytes held, waiting for the rest of a line or value. */
  get bufferedBytes(): number {
    return this.#end - this.#start;
  }

  /** Capacity of the internal buffer (what it really costs). */
  get capacityBytes(): number {
    return this.#buf.byteLength;
  }

  get closed(): boolean {
    return this.#state.type === "closed";
  }

  /** Appends a chunk (copied: the caller may reuse it). Ignored once a fatal event was given. */
  push(chunk: Uint8Array): void {
    if (this.#state.type === "closed" || chunk.byteLength === 0) return;
    this.#reserve(chunk.byteLength);
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.byteLength;
  }

  /** The next event, or null when more bytes are needed (or after a fatal event). */
  next(): ParseEvent | null {
    for (;;) {
      const state = this.#state;
      switch (state.type) {
        case "closed":
          return null;
        case "line": {
          const event = this.#nextLine();
          if (event !== "again") return event;
          break;
        }
        case "value":
          return this.#nextValue(state.header, state.numbytes);
        case "skip": {
          const event = this.#nextSkip(state);
          if (event !== "again") return event;
          break;
        }
        default:
          return assertNever(state);
      }
    }
  }

  // ------------------------------------------------------------------ states

  /** "again" when a value or skip state was entered: continue with it. */
  #nextLine(): ParseEvent | null | "again" {
    const { lineBytesMax } = this.limits;
    const crlf = this.#findCrlf();
    if (crlf < 0) {
      // Wait for more unless even a CRLF arriving next could not end a line short enough.
      if (this.bufferedBytes > lineBytesMax + 1) return this.#fatal("line over 1 KiB without CRLF");
      return null;
    }
    const line = this.#buf.subarray(this.#start, crlf);
    this.#consume(crlf + 2 - this.#start);
    if (line.byteLength > lineBytesMax) return this.#fatal(`line over ${lineBytesMax} bytes`);
    const parsed = this.#parseLine(line);
    return parsed ?? "again";
  }

  #nextValue(header: ValueHeader, numbytes: number): ParseEvent | null {
    if (this.bufferedBytes < numbytes + 2) return null;
    const at = this.#start + numbytes;
    if (this.#buf[at] !== CR || this.#buf[at + 1] !== LF) {
      return this.#fatal("value not followed by CRLF");
    }
    const value = this.#buf.slice(this.#start, at);
    this.#consume(numbytes + 2);
    this.#state = { type: "line" };
    return { type: "command", command: { ...header, value } };
  }

  #nextSkip(state: { remaining: number; reason: string }): ParseEvent | null | "again" {
    const dropped = Math.min(state.remaining, this.bufferedBytes);
    this.#consume(dropped);
    state.remaining -= dropped;
    if (state.remaining > 0 || this.bufferedBytes < 2) return null;
    if (this.#buf[this.#start] !== CR || this.#buf[this.#start + 1] !== LF) {
      return this.#fatal("value not followed by CRLF");
    }
    this.#consume(2);
    this.#state = { type: "line" };
    return { type: "error", reason: state.reason };
  }

  #fatal(reason: string): ParseEvent {
    this.#state = { type: "closed" };
    // Nothing more will be read: give the memory back.
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = this.#scanFrom = 0;
    return { type: "fatal", reason };
  }

  // ------------------------------------------------------------------ command lines

  /** An event, or null after entering a value/skip state. */
  #parseLine(line: Uint8Array): ParseEvent | null {
    const tokens = splitTokens(line);
    const word = tokens.length > 0 ? ascii(tokens[0]) : "";
    switch (word) {
      case "set":
        return this.#parseStorage(tokens, 3);
      case "cas":
        return this.#parseStorage(tokens, 4);
      case "get":
      case "getm":
      case "delete":
        return this.#parseKeyOnly(word, tokens);
      default:
        return { type: "error", reason: `unknown command ${JSON.stringify(word.slice(0, 32))}` };
    }
  }

  #parseKeyOnly(word: "get" | "getm" | "delete", tokens: Uint8Array[]): ParseEvent {
    if (tokens.length !== 2) return { type: "error", reason: `${word} takes exactly one key` };
    const key = this.#parseKey(tokens[1]);
    if (typeof key !== "string") return { type: "error", reason: key.problem };
    return { type: "command", command: { type: word, key } };
  }

  /** set (numbytes at index 3) and cas (index 4): value-carrying commands. */
  #parseStorage(tokens: Uint8Array[], numbytesAt: 3 | 4): ParseEvent | null {
    const word = numbytesAt === 3 ? "set" : "cas";
    const numbytes = tokens.length > numbytesAt ? parseCount(tokens[numbytesAt]) : null;
    if (numbytes === null) return this.#fatal(`${word}: no parsable numbytes`);
    if (numbytes > this.limits.skipBytesMax) {
      return this.#fatal(`${word}: numbytes ${numbytes} exceeds ${this.limits.skipBytesMax}`);
    }
    const header = this.#parseHeader(tokens, numbytesAt, numbytes);
    if (typeof header === "string") {
      this.#state = { type: "skip", remaining: numbytes, reason: `${word}: ${header}` };
    } else {
      this.#state = { type: "value", header, numbytes };
    }
    return null;
  }

  /** The fields other than numbytes, or why the line is bad. */
  #parseHeader(tokens: Uint8Array[], numbytesAt: 3 | 4, numbytes: number): ValueHeader | string {
    if (tokens.length > numbytesAt + 2) return "too many fields";
    const noreply = tokens.length === numbytesAt + 2;
    if (noreply && ascii(tokens[numbytesAt + 1]) !== "noreply") {
      return "the field after numbytes must be noreply";
    }
    if (numbytes > this.limits.valueBytesMax) {
      return `value of ${numbytes} bytes exceeds ${this.limits.valueBytesMax}`;
    }
    const key = this.#parseKey(tokens[1]);
    if (typeof key !== "string") return key.problem;
    const exptime = parseCount(tokens[2]);
    if (exptime === null || exptime > this.limits.exptimeMax) {
      return `exptime must be 0..${this.limits.exptimeMax} seconds`;
    }
    if (numbytesAt === 3) return { type: "set", key, exptime, noreply };
    const version = parseCount(tokens[3], VERSION_DIGITS_MAX);
    if (version === null) return "version must be a non-negative integer";
    return { type: "cas", key, exptime, version, noreply };
  }

  /** Keys: 1..keyBytesMax bytes of UTF-8 without spaces or control characters (C0, DEL, C1). */
  #parseKey(bytes: Uint8Array): string | { problem: string } {
    if (bytes.byteLength > this.limits.keyBytesMax) {
      return { problem: `key over ${this.limits.keyBytesMax} bytes` };
    }
    for (const b of bytes) {
      if (b <= SPACE || b === 0x7f) return { problem: "key has a control character" };
    }
    let key: string;
    try {
      key = keyDecoder.decode(bytes);
    } catch {
      return { problem: "key is not UTF-8" };
    }
    if (/[\u0080-\u009f]/.test(key)) return { problem: "key has a control character" };
    return key;
  }

  // ------------------------------------------------------------------ the buffer

  /** Index of the next CRLF's CR at or after the line start, or -1. */
  #findCrlf(): number {
    let from = Math.max(this.#start, this.#scanFrom);
    for (;;) {
      const cr = this.#buf.indexOf(CR, from);
      if (cr < 0 || cr >= this.#end) {
        this.#scanFrom = this.#end;
        return -1;
      }
      if (cr + 1 >= this.#end) {
        this.#scanFrom = cr; // the LF may come in the next chunk
        return -1;
      }
      if (this.#buf[cr + 1] === LF) return cr;
      from = cr + 1;
    }
  }

  #consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    this.#scanFrom = this.#start;
  }

  /** Room for `n` more bytes: move what is held to the front, grow only if that is not enough. */
  #reserve(n: number): void {
    if (this.#end + n <= this.#buf.byteLength) return;
    const held = this.#end - this.#start;
    const scanOffset = this.#scanFrom - this.#start;
    const needed = held + n;
    if (needed <= this.#buf.byteLength && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      let size = Math.max(this.#buf.byteLength, 4096);
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
    }
    this.#start = 0;
    this.#end = held;
    this.#scanFrom = scanOffset;
  }
}

/** Byte ranges between runs of spaces (views into `line`). */
function splitTokens(line: Uint8Array): Uint8Array[] {
  const tokens: Uint8Array[] = [];
  let i = 0;
  while (i < line.byteLength) {
    while (i < line.byteLength && line[i] === SPACE) i++;
    const start = i;
    while (i < line.byteLength && line[i] !== SPACE) i++;
    if (i > start) tokens.push(line.subarray(start, i));
  }
  return tokens;
}

/** A token of ASCII digits only (no sign, at most `digitsMax` of them) as a number, or null. */
function parseCount(token: Uint8Array, digitsMax = DIGITS_MAX): number | null {
  if (token.byteLength === 0 || token.byteLength > digitsMax) return null;
  let n = 0;
  for (const b of token) {
    if (b < 0x30 || b > 0x39) return null;
    n = n * 10 + (b - 0x30);
  }
  return n;
}

/** Command words and `noreply` are ASCII; other bytes just make the comparison fail. */
function ascii(token: Uint8Array): string {
  return String.fromCharCode(...token.subarray(0, 64));
}

function assertNever(value: never): never {
  throw new Error(`unexpected parser state: ${JSON.stringify(value)}`);
}
