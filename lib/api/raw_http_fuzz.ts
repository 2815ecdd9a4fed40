// Raw HTTP/1.1 inputs for the fuzz tests, sent over TCP byte for byte: what fetch will not
// send (lying or malformed Content-Length, bad chunking, raw non-ASCII bytes in the path and
// headers, header floods, huge chunked bodies, pipelining, plain garbage).

import type { Rng } from "../../test/rng.ts";
import type { FuzzTarget } from "./http_fuzz.ts";
import { concatBytes } from "../bytes.ts";

export interface RawInput {
  what: string;
  bytes: Uint8Array;
  /** The statuses the answer must have, when the input decides it. */
  expect?: number[];
}

const encoder = new TextEncoder();
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

function request(head: string, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const bytes = latin1(head);
  const out = new Uint8Array(bytes.byteLength + body.byteLength);
  out.set(bytes);
  out.set(body, bytes.byteLength);
  return out;
}

/** A chunked body of `total` bytes in 16 KiB chunks, properly terminated. */
function chunkedBody(total: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let left = total; left > 0; left -= 16384) {
    const n = Math.min(16384, left);
    parts.push(
      encoder.encode(`${n.toString(16)}\r\n`),
      new Uint8Array(n).fill(120),
      latin1("\r\n"),
    );
  }
  parts.push(latin1("0\r\n\r\n"));
  return concatBytes(parts);
}

export function rawFuzzInput(rng: Rng, t: FuzzTarget): RawInput {
  const key = encodeURIComponent(rng.pick(t.keys));
  const close = "Host: fuzz\r\nConnection: close\r\n";
  const bad = () =>
    String.fromCharCode(...Array.from({ length: rng.int(1, 6) }, () => rng.int(128, 255)));
  switch (rng.int(0, 11)) {
    case 0:
      return {
        what: "raw non-ASCII bytes in the path",
        bytes: request(
          `${
            rng.pick(["GET", "PUT"])
          } /v1/kv/${bad()} HTTP/1.1\r\n${close}Content-Length: 1\r\n\r\nx`,
        ),
      };
    case 1:
      return {
        what: "a Content-Length longer than the body",
        bytes: request(`PUT /v1/kv/${key} HTTP/1.1\r\n${close}Content-Length: 100\r\n\r\nshort`),
      };
    case 2: {
      const length = rng.pick(["-1", "abc", "1e3", "5, 6", " ", "99999999999999999999"]);
      return {
        what: `Content-Length: ${length}`,
        bytes: request(
          `PUT /v1/kv/${key} HTTP/1.1\r\n${close}Content-Length: ${length}\r\n\r\nhello`,
        ),
      };
    }
    case 3:
      return {
        what: "two different Content-Lengths",
        bytes: request(
          `POST /v1/txn HTTP/1.1\r\n${close}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}}`,
        ),
      };
    case 4:
      return {
        what: "malformed chunking",
        bytes: request(
          `PUT /v1/kv/${key} HTTP/1.1\r\n${close}Transfer-Encoding: chunked\r\n\r\n${
            rng.pick([
              "zz\r\nhello\r\n0\r\n\r\n",
              "5\r\nhello",
              "ffffffffffffffff\r\nx\r\n",
              "3\r\nhello\r\n0\r\n\r\n",
            ])
          }`,
        ),
      };
    case 5: {
      const path = rng.pick([`/v1/kv/${key}`, "/v1/txn", "/v1/members", "/v1/leader/transfer"]);
      const method = path.startsWith("/v1/kv/") ? "PUT" : "POST";
      return {
        what: `a chunked ${method} ${path} of 3 MiB (no Content-Length)`,
        bytes: request(
          `${method} ${path} HTTP/1.1\r\n${close}Transfer-Encoding: chunked\r\n\r\n`,
          chunkedBody(3 * 1024 * 1024),
        ),
        expect: [413],
      };
    }
    case 6: {
      const name = rng.pick(["If-Match", "Idempotency-Key", "Last-Event-ID", "If-None-Match"]);
      const path = name === "Last-Event-ID" ? "/v1/watch" : `/v1/kv/${key}`;
      const method = name === "Last-Event-ID" ? "GET" : "PUT";
      return {
        what: `raw non-ASCII bytes in ${name}`,
        bytes: request(
          `${method} ${path} HTTP/1.1\r\n${close}${name}: "${bad()}"\r\nContent-Length: 1\r\n\r\nx`,
        ),
      };
    }
    case 7:
      return {
        what: "a 64 KiB header",
        bytes: request(`GET /v1/status HTTP/1.1\r\n${close}X-Big: ${"b".repeat(65536)}\r\n\r\n`),
      };
    case 8:
      return {
        what: "2000 headers",
        bytes: request(
          `GET /v1/status HTTP/1.1\r\n${close}${
            Array.from({ length: 2000 }, (_, i) => `X-H${i}: ${i}\r\n`).join("")
          }\r\n`,
        ),
      };
    case 9:
      return {
        what: "two pipelined requests",
        bytes: request(
          `PUT /v1/kv/${key} HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 2\r\n\r\nhiGET /v1/kv/${key} HTTP/1.1\r\n${close}\r\n`,
        ),
      };
    case 10:
      return {
        what: "HTTP/1.0 without Host",
        bytes: request(`GET /v1/kv/${key}?consistency=serializable HTTP/1.0\r\n\r\n`),
      };
    default: {
      const garbage = new Uint8Array(rng.int(1, 300));
      for (let i = 0; i < garbage.length; i++) garbage[i] = rng.int(0, 255);
      return { what: `${garbage.length} random bytes`, bytes: garbage };
    }
  }
}

/** Sends `bytes`, reads until the server closes or `timeoutMs` passes; the first status seen
 * (0 if none) and a 500 anywhere in the answer (pipelined answers included). */
export async function rawExchange(
  url: URL,
  bytes: Uint8Array,
  timeoutMs = 600,
): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const received: number[] = [];
  try {
    const writing = (async () => {
      for (let at = 0; at < bytes.byteLength;) at += await conn.write(bytes.subarray(at));
    })().catch(() => {});
    const buf = new Uint8Array(16384);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      // Keep the head of the answer only: statuses are all this looks at.
      if (received.length < 65536) received.push(...buf.subarray(0, n));
    }
    await writing;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  const text = new TextDecoder().decode(new Uint8Array(received));
  const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
  return { status: statuses.includes(500) ? 500 : statuses[0] ?? 0, text: text.slice(0, 2000) };
}

/** Sends each raw input to `urls[i % urls.length]`, `concurrency` at a time; one line per
 * answer that is a 500 or not the status the input calls for. */
export async function rawRound(
  inputs: RawInput[],
  urls: URL[],
  concurrency: number,
  label: string,
): Promise<string[]> {
  const failures: string[] = [];
  for (let at = 0; at < inputs.length; at += concurrency) {
    await Promise.all(
      inputs.slice(at, at + concurrency).map(async (input, i) => {
        const where = `${label} raw input ${at + i}: ${input.what}`;
        const answer = await rawExchange(urls[(at + i) % urls.length], input.bytes);
        if (answer.status === 500) failures.push(`${where}\n  -> 500: ${answer.text}`);
        if (input.expect && !input.expect.includes(answer.status)) {
          failures.push(`${where}\n  -> expected ${input.expect}, got: ${answer.text}`);
        }
      }),
    );
  }
  return failures;
}
