// Byte helpers shared by the server, the CLI, the transport and the storage.

/** The chunks joined into one fresh buffer. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export type LimitedRead =
  | { type: "ok"; bytes: Uint8Array<ArrayBuffer> }
  /** Past the limit after `bytes`: the rest was cancelled, not read. */
  | { type: "tooLarge"; bytes: number };

/** Reads a whole stream, giving up (and cancelling the rest) as soon as it passes
 * `bytesMax`, so memory stays bounded. An error of the stream itself is thrown. */
export async function readLimited(
  stream: ReadableStream<Uint8Array>,
  bytesMax: number,
): Promise<LimitedRead> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > bytesMax) {
        await reader.cancel().catch(() => {});
        return { type: "tooLarge", bytes: total };
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return { type: "ok", bytes: concatBytes(chunks) };
}
