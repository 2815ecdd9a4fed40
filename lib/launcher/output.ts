// Console output, signals and line splitting: the launcher's contact with the process,
// each behind a small function type so tests can replace it.

export type OutputStream = "stdout" | "stderr";
/** Writes `text` (whole lines, newline included) to one of the process's streams. */
export type Write = (stream: OutputStream, text: string) => void;

const encoder = new TextEncoder();

/**
 * Synchronous, so a line is never interleaved with another and a slow reader
 * back-pressures the children through their pipes. A closed stdout (`| head`) must not
 * take the launcher down and orphan the nodes, so write errors are dropped.
 */
export const writeToConsole: Write = (stream, text) => {
  const file = stream === "stdout" ? Deno.stdout : Deno.stderr;
  const bytes = encoder.encode(text);
  try {
    let offset = 0;
    while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
  } catch {
    // Nowhere left to report it.
  }
};

export const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;
export type StopSignal = typeof STOP_SIGNALS[number];
/** Calls `handler` on each stop signal until the returned function unsubscribes. */
export type OnStopSignal = (handler: (signal: StopSignal) => void) => () => void;

/** The real thing. A listener replaces Deno's default exit: whoever listens must exit. */
export const processStopSignals: OnStopSignal = (handler) => {
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => handler(signal);
    Deno.addSignalListener(signal, listener);
    return { signal, listener };
  });
  return () => {
    for (const { signal, listener } of listeners) Deno.removeSignalListener(signal, listener);
  };
};

/** A child that never prints a newline must not grow our buffer without bound. */
export const LINE_CHARS_MAX = 16 * 1024;

/**
 * Calls `onLine` for each line of `stream` (without "\n" or "\r\n"); an over-long line
 * is cut into LINE_CHARS_MAX pieces; a last line without a newline still counts.
 */
export async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  lineCharsMax = LINE_CHARS_MAX,
): Promise<void> {
  const emit = (line: string) => {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    for (let start = 0; start < text.length; start += lineCharsMax) {
      onLine(text.slice(start, start + lineCharsMax));
    }
    if (text === "") onLine("");
  };
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (pending + chunk).split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) emit(line);
    // Flush whole pieces of an unfinished line; keep the remainder for the next chunk.
    const whole = pending.length - (pending.length % lineCharsMax);
    if (whole > 0) {
      emit(pending.slice(0, whole));
      pending = pending.slice(whole);
    }
  }
  if (pending !== "") emit(pending);
}

/** "[n1] " padded so every node's output starts in the same column. */
export function linePrefixes(ids: readonly string[]): Map<string, string> {
  const width = Math.max(...ids.map((id) => id.length)) + 2;
  return new Map(ids.map((id) => [id, `${`[${id}]`.padEnd(width)} `]));
}
