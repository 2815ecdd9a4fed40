import assert from "node:assert/strict";
import { parseSse, type SseEvent } from "./sse.ts";

async function parse(chunks: string[], charsMax?: number): Promise<SseEvent[]> {
  const stream = ReadableStream.from(chunks.map((c) => new TextEncoder().encode(c)));
  return await Array.fromAsync(parseSse(stream, charsMax));
}

Deno.test("SSE: fields, multi-line data, comments, and ids that persist", async () => {
  assert.deepEqual(
    await parse([
      "\uFEFF: keep-alive\n\nid: 1\nevent: put\ndata: a\ndata:b\n\n",
      "data: no id of its own\n\nid\nevent: x\n\n",
      "id: 3\ndata\n\n",
    ]),
    [
      { id: "1", event: "put", data: "a\nb" },
      { id: "1", event: "message", data: "no id of its own" },
      { id: "3", event: "message", data: "" },
    ],
  );
});

Deno.test("SSE: CR, LF and a CRLF split across chunks all end lines", async () => {
  assert.deepEqual(
    await parse(["id: 7\revent: put\r", "\ndata: x\r\n", "\r", "\ndata: y\n\n"]),
    [{ id: "7", event: "put", data: "x" }, { id: "7", event: "message", data: "y" }],
  );
});

Deno.test("SSE: an event cut off by the end of the stream is dropped", async () => {
  assert.deepEqual(await parse(["data: done\n\ndata: half"]), [
    { id: null, event: "message", data: "done" },
  ]);
});

Deno.test("SSE: an overlong line or event fails instead of growing without bound", async () => {
  await assert.rejects(parse(["data: " + "x".repeat(100)], 50), /line over 50/);
  await assert.rejects(parse(["data: xxxxxxxxxx\n".repeat(10)], 50), /event over 50/);
});
