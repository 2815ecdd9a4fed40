// An in-memory Io for running the CLI's main() in tests.

import type { Io } from "./io.ts";
import { concatBytes as concat } from "../bytes.ts";

export interface MemoryIo {
  io: Io;
  out(): string;
  outBytes(): Uint8Array;
  err(): string;
  /** Ctrl-C. */
  interrupt(): void;
  sleeps: number[];
}

export function memoryIo(
  o: {
    stdin?: Uint8Array;
    terminal?: boolean;
    env?: Record<string, string>;
    onOut?: (text: string) => void;
  } = {},
): MemoryIo {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const controller = new AbortController();
  const sleeps: number[] = [];
  const io: Io = {
    stdout: (b) => {
      out.push(b.slice());
      o.onOut?.(new TextDecoder().decode(concat(out)));
      return Promise.resolve();
    },
    stderr: (b) => {
      err.push(b.slice());
      return Promise.resolve();
    },
    stdin: () => ReadableStream.from([o.stdin ?? new Uint8Array()]),
    stdoutIsTerminal: o.terminal ?? false,
    env: (name) => o.env?.[name],
    signal: controller.signal,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  };
  return {
    io,
    out: () => new TextDecoder().decode(concat(out)),
    outBytes: () => concat(out),
    err: () => new TextDecoder().decode(concat(err)),
    interrupt: () => controller.abort(),
    sleeps,
  };
}
