// What the CLI touches of the outside world, injected so tests run it in-process.

import { encodeText } from "./text.ts";
import { readLimited } from "../bytes.ts";

export type Writer = (bytes: Uint8Array) => Promise<void>;

export interface Io {
  stdout: Writer;
  stderr: Writer;
  /** Opened only by `put KEY -`. */
  stdin: () => ReadableStream<Uint8Array>;
  /** Decides whether `get` ends its output with a newline. */
  stdoutIsTerminal: boolean;
  env: (name: string) => string | undefined;
  /** Aborted on Ctrl-C: ends `watch` cleanly and cancels any request in flight. */
  signal: AbortSignal;
  /** Waits between watch reconnects; tests pass one that does not really wait. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  unreachable: 3,
  interrupted: 130,
} as const;

export async function print(w: Writer, text: string): Promise<void> {
  await w(encodeText(text));
}

/** One diagnostic line on stderr, prefixed like every message of the tool. */
export async function complain(io: Io, message: string): Promise<void> {
  await print(io.stderr, `kv: ${message.replaceAll(/\s*\n\s*/g, " ")}\n`);
}

export function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Reads a whole stream, refusing more than `bytesMax` (and cancelling the rest). */
export async function readAll(
  stream: ReadableStream<Uint8Array>,
  bytesMax: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const read = await readLimited(stream, bytesMax);
  return read.type === "ok" ? read.bytes : null;
}
