// One text-protocol connection: a reader that parses and starts commands, and a flusher that
// writes their replies strictly in command order, however they complete.
//
// Pipelining within a bounded window. Consecutive writes run concurrently: the replica proposes
// them in call order, so the log applies them in the order sent. Consecutive reads run
// concurrently too. But a read waits until every earlier write of the connection has been
// answered (so it sees them), and a write waits until every earlier read has been answered (so
// no read sees a later write): each connection keeps its program order.
//
// Memory per connection: the parser's buffer, at most `windowMax` commands in flight, and at
// most `windowBytesMax` value bytes among them (one bigger value may go alone). When the window
// is full the reader stops reading and TCP pushes back on the client.

import { type CommandClass, commandClass, type ExecContext, execute } from "./execute.ts";
import { type ParseEvent, type ParserLimits, TextParser } from "./parser.ts";
import { ERR_CMD_ERR, type Reply } from "./replies.ts";
import { concatBytes } from "../bytes.ts";

export interface SessionLimits {
  /** Commands started but not yet answered, per connection. */
  windowMax: number;
  /** Value bytes of those commands. */
  windowBytesMax: number;
  /** Bytes per read from the socket. */
  readBytes: number;
  /** Small replies are coalesced into writes of up to this many bytes. */
  writeBytes: number;
}

export const defaultSessionLimits: SessionLimits = {
  windowMax: 256,
  windowBytesMax: 4 * 1024 * 1024,
  readBytes: 64 * 1024,
  writeBytes: 64 * 1024,
};

/** After a framing error: how long and how much input to discard before closing. */
const LINGER_MS = 500;
const LINGER_BYTES_MAX = 1024 * 1024;

interface Slot {
  /** undefined until the command completes; null when it sends nothing (noreply). */
  reply: Reply | null | undefined;
  done: Promise<void>;
  finish: () => void;
  valueBytes: number;
}

export class Session {
  readonly #conn: Deno.Conn;
  /** "host:port" of the client, for log lines. */
  readonly #peer: string;
  readonly #ctx: ExecContext;
  readonly #limits: SessionLimits;
  readonly #parser: TextParser;
  /** Started, not yet written, in command order. */
  readonly #pending: Slot[] = [];
  #pendingBytes = 0;
  #runClass: CommandClass | null = null;
  #inputDone = false;
  #sawEof = false;
  #closed = false;
  /** Wakes the flusher (a new slot, or input ended). */
  #wakeFlusher: (() => void) | null = null;
  /** Wakes the reader (room in the window, or closed). */
  #wakeReader: (() => void) | null = null;
  readonly #closedSignal: Promise<void>;
  #signalClosed!: () => void;

  constructor(
    conn: Deno.Conn,
    ctx: ExecContext,
    parserLimits: Partial<ParserLimits>,
    limits: SessionLimits,
  ) {
    this.#conn = conn;
    const remote = conn.remoteAddr as Deno.NetAddr;
    this.#peer = `${remote.hostname}:${remote.port}`;
    this.#ctx = ctx;
    this.#limits = limits;
    this.#parser = new TextParser(parserLimits);
    this.#closedSignal = new Promise((resolve) => this.#signalClosed = resolve);
  }

  /** Serves the connection until the client is done, framing is lost, or close(). */
  async run(): Promise<void> {
    const flusher = this.#flushLoop();
    try {
      await this.#readLoop();
    } catch (e) {
      if (!this.#closed && !isHangUp(e)) {
        this.#ctx.log(`text: ${this.#peer}: read failed: ${errorText(e)}`);
      }
    }
    this.#inputDone = true;
    this.#wake();
    await flusher;
    if (!this.#closed && !this.#sawEof) await this.#linger();
    this.close();
  }

  /**
   * Closing a socket with unread input makes the kernel send RST, and a client that pipelined
   * past a framing error might then lose the ERR_CMD_ERR sent just before. So: FIN first, then
   * discard input (bounded in bytes and time) until the client closes too.
   */
  async #linger(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch {
      return;
    }
    const timer = setTimeout(() => this.close(), LINGER_MS);
    try {
      const sink = new Uint8Array(16 * 1024);
      for (let total = 0; total < LINGER_BYTES_MAX;) {
        const n = await this.#conn.read(sink);
        if (n === null) return;
        total += n;
      }
    } catch {
      // Closed by the timer, by close(), or reset by the client: done either way.
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the socket at once; replies still pending are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signalClosed();
    this.#wake();
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer side of Deno: nothing to release.
    }
  }

  // ------------------------------------------------------------------ reading

  async #readLoop(): Promise<void> {
    const chunk = new Uint8Array(this.#limits.readBytes);
    while (!this.#closed) {
      const n = await this.#conn.read(chunk);
      if (n === null) {
        this.#sawEof = true; // the client finished sending (EOF or half-close)
        return;
      }
      this.#parser.push(chunk.subarray(0, n));
      for (let event = this.#parser.next(); event !== null; event = this.#parser.next()) {
        if (!await this.#handle(event)) return;
      }
    }
  }

  /** false when no more input is to be read. */
  async #handle(event: ParseEvent): Promise<boolean> {
    switch (event.type) {
      case "command": {
        const { command } = event;
        const valueBytes = "value" in command ? command.value.byteLength : 0;
        await this.#waitForRoom(valueBytes);
        await this.#enterRun(commandClass(command));
        if (this.#closed) return false;
        const slot = this.#addSlot(valueBytes);
        execute(this.#ctx, command).then((reply) => this.#complete(slot, reply));
        return true;
      }
      case "error":
        await this.#waitForRoom(0);
        this.#complete(this.#addSlot(0), ERR_CMD_ERR);
        return !this.#closed;
      case "fatal":
        this.#ctx.log(`text: ${this.#peer}: closing: ${event.reason}`);
        await this.#waitForRoom(0);
        this.#complete(this.#addSlot(0), ERR_CMD_ERR);
        return false;
      default:
        return assertNever(event);
    }
  }

  async #waitForRoom(valueBytes: number): Promise<void> {
    const { windowMax, windowBytesMax } = this.#limits;
    while (
      !this.#closed &&
      (this.#pending.length >= windowMax ||
        (this.#pending.length > 0 && this.#pendingBytes + valueBytes > windowBytesMax))
    ) {
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
  }

  /** A read after writes (or a write after reads) first waits for all of them. */
  async #enterRun(cls: CommandClass): Promise<void> {
    if (this.#runClass === cls) return;
    const previous = this.#pending.map((slot) => slot.done);
    await Promise.race([Promise.all(previous), this.#closedSignal]);
    this.#runClass = cls;
  }

  #addSlot(valueBytes: number): Slot {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => finish = resolve);
    const slot: Slot = { reply: undefined, done, finish, valueBytes };
    this.#pending.push(slot);
    this.#pendingBytes += valueBytes;
    this.#wake();
    return slot;
  }

  #complete(slot: Slot, reply: Reply | null): void {
    slot.reply = reply;
    slot.finish();
  }

  // ------------------------------------------------------------------ writing

  async #flushLoop(): Promise<void> {
    while (!this.#closed) {
      const head = this.#pending[0];
      if (head === undefined) {
        if (this.#inputDone) return;
        await new Promise<void>((resolve) => this.#wakeFlusher = resolve);
        continue;
      }
      await Promise.race([head.done, this.#closedSignal]);
      if (this.#closed) return;
      const parts = this.#takeCompleted();
      try {
        await this.#writeParts(parts);
      } catch (e) {
        if (!this.#closed && !isHangUp(e)) {
          this.#ctx.log(`text: ${this.#peer}: write failed: ${errorText(e)}`);
        }
        this.close();
      }
    }
  }

  /** The replies of the completed slots at the head, in order; frees their window room. */
  #takeCompleted(): Uint8Array[] {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    while (bytes < this.#limits.writeBytes) {
      const slot = this.#pending[0];
      if (slot === undefined || slot.reply === undefined) break;
      this.#pending.shift();
      this.#pendingBytes -= slot.valueBytes;
      for (const part of slot.reply ?? []) {
        parts.push(part);
        bytes += part.byteLength;
      }
    }
    this.#wakeReader?.();
    this.#wakeReader = null;
    return parts;
  }

  /** Small parts go out together; a large value is written from its own bytes. */
  async #writeParts(parts: Uint8Array[]): Promise<void> {
    const { writeBytes } = this.#limits;
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    const flushBatch = async () => {
      if (batch.length === 0) return;
      await this.#writeAll(batch.length === 1 ? batch[0] : concatBytes(batch));
      batch = [];
      batchBytes = 0;
    };
    for (const part of parts) {
      if (part.byteLength > writeBytes / 4) {
        await flushBatch();
        await this.#writeAll(part);
      } else {
        if (batchBytes + part.byteLength > writeBytes) await flushBatch();
        batch.push(part);
        batchBytes += part.byteLength;
      }
    }
    await flushBatch();
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let written = 0;
    while (written < bytes.byteLength) {
      written += await this.#conn.write(bytes.subarray(written));
    }
  }

  #wake(): void {
    this.#wakeFlusher?.();
    this.#wakeFlusher = null;
    this.#wakeReader?.();
    this.#wakeReader = null;
  }
}

/** The client went away: routine, not worth a log line. */
function isHangUp(e: unknown): boolean {
  return e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.ConnectionReset;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function assertNever(value: never): never {
  throw new Error(`unexpected parse event: ${JSON.stringify(value)}`);
}
