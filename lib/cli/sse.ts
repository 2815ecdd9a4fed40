// A Server-Sent Events parser (WHATWG HTML §9.2.6): bytes in, dispatched events out.

export interface SseEvent {
  /** The last event ID seen on the stream so far (what Last-Event-ID resumes from). */
  id: string | null;
  event: string;
  data: string;
}

/** A line or an event's data longer than this means a broken stream, not a big value. */
export const SSE_EVENT_CHARS_MAX = 16 * 1024 * 1024;

export async function* parseSse(
  stream: ReadableStream<Uint8Array>,
  charsMax = SSE_EVENT_CHARS_MAX,
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const state = { id: null as string | null, event: "", data: [] as string[], dataChars: 0 };
  let buffer = "";
  let first = true;
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    if (first && buffer.length > 0) {
      first = false;
      if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
    }
    let start = 0;
    const eol = /\r\n|\r|\n/g;
    for (let m = eol.exec(buffer); m !== null; m = eol.exec(buffer)) {
      // A CR at the very end may be the first half of a CRLF still in flight.
      if (m[0] === "\r" && m.index === buffer.length - 1) break;
      const event = takeLine(state, buffer.slice(start, m.index), charsMax);
      if (event) yield event;
      start = m.index + m[0].length;
    }
    buffer = buffer.slice(start);
    if (buffer.length > charsMax) throw new Error(`SSE line over ${charsMax} characters`);
  }
  // An event not closed by a blank line when the stream ends is discarded, as the spec says.
}

function takeLine(
  s: { id: string | null; event: string; data: string[]; dataChars: number },
  line: string,
  charsMax: number,
): SseEvent | null {
  if (line === "") {
    const data = s.data;
    const event = s.event || "message";
    s.event = "";
    s.data = [];
    s.dataChars = 0;
    return data.length === 0 ? null : { id: s.id, event, data: data.join("\n") };
  }
  if (line.startsWith(":")) return null; // comment, e.g. a keep-alive
  const colon = line.indexOf(":");
  const field = colon < 0 ? line : line.slice(0, colon);
  let value = colon < 0 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  switch (field) {
    case "event":
      s.event = value;
      break;
    case "data":
      s.dataChars += value.length + 1;
      if (s.dataChars > charsMax) throw new Error(`SSE event over ${charsMax} characters`);
      s.data.push(value);
      break;
    case "id":
      if (!value.includes("\0")) s.id = value;
      break;
    default:
      break; // retry and unknown fields: ignored
  }
  return null;
}
