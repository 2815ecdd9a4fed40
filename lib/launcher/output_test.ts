import assert from "node:assert/strict";
import { linePrefixes, readLines } from "./output.ts";

function streamOf(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(
    chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk),
  );
}

async function linesOf(stream: ReadableStream<Uint8Array>, lineCharsMax?: number) {
  const lines: string[] = [];
  await readLines(stream, (line) => lines.push(line), lineCharsMax);
  return lines;
}

Deno.test("readLines: lines split across chunks, CRLF, a last line without newline", async () => {
  assert.deepEqual(await linesOf(streamOf("a\nb", "c\r\n", "\n", "tail")), ["a", "bc", "", "tail"]);
  assert.deepEqual(await linesOf(streamOf()), []);
});

Deno.test("readLines: a UTF-8 character split between chunks arrives whole", async () => {
  const bytes = new TextEncoder().encode("é€\n");
  assert.deepEqual(
    await linesOf(streamOf(bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4))),
    [
      "é€",
    ],
  );
});

Deno.test("readLines: a line longer than the limit is cut, not buffered without bound", async () => {
  assert.deepEqual(await linesOf(streamOf("abcdefg", "hij\nk"), 4), ["abcd", "efgh", "ij", "k"]);
});

Deno.test("linePrefixes: bracketed ids padded to one column", () => {
  const prefixes = linePrefixes(["n1", "long-id", "b"]);
  assert.equal(prefixes.get("n1"), "[n1]      ");
  assert.equal(prefixes.get("long-id"), "[long-id] ");
  assert.equal(prefixes.get("b"), "[b]       ");
  assert.equal(linePrefixes(["n1", "n2"]).get("n2"), "[n2] ");
});
