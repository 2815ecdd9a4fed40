// get, put and del: one request each.

import { z } from "zod";
import type { Command, ValueSource } from "./args.ts";
import type { Client } from "./client.ts";
import { complain, EXIT, type Io, print, readAll } from "./io.ts";
import { expectOk, parseBody } from "./replies.ts";
import { encodeText, valueFields } from "./text.ts";

/** Largest value read from stdin or a file; the server's own limit (1 MiB default) is lower. */
export const VALUE_BYTES_MAX = 64 * 1024 * 1024;

const putReply = z.object({ revision: z.number(), version: z.number() });
const delReply = z.object({ revision: z.number() });

export function keyPath(key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`;
}

export async function get(
  io: Io,
  client: Client,
  c: Extract<Command, { type: "get" }>,
): Promise<number> {
  const query = c.serializable ? "?consistency=serializable" : "";
  const { reply, code } = await expectOk(io, await client.request(keyPath(c.key) + query));
  if (!reply) return code;
  if (c.json) {
    const h = reply.headers;
    const doc = {
      key: c.key,
      ...valueFields(reply.body),
      revision: headerNumber(h.get("etag")),
      version: headerNumber(h.get("x-kv-version")),
      expiresAt: h.get("x-kv-expires-at"),
    };
    await print(io.stdout, JSON.stringify(doc) + "\n");
    return EXIT.ok;
  }
  await io.stdout(reply.body);
  // A terminal prompt should not land on the value's last line; a pipe gets the exact bytes.
  if (io.stdoutIsTerminal && reply.body.at(-1) !== 0x0a) await print(io.stdout, "\n");
  return EXIT.ok;
}

export async function put(
  io: Io,
  client: Client,
  c: Extract<Command, { type: "put" }>,
): Promise<number> {
  const value = await readValue(io, c.source);
  if (typeof value === "string") {
    await complain(io, value);
    return EXIT.failed;
  }
  const headers: Record<string, string> = {
    "content-type": "application/octet-stream",
    ...writeHeaders(c.ifRevision),
  };
  if (c.create) headers["if-none-match"] = "*";
  const query = c.ttlS === undefined ? "" : `?ttl=${c.ttlS}`;
  const outcome = await client.request(keyPath(c.key) + query, {
    method: "PUT",
    headers,
    body: value,
  });
  const { reply, code } = await expectOk(io, outcome);
  if (!reply) return code;
  const r = await parseBody(io, reply, putReply);
  if (!r) return EXIT.failed;
  await print(io.stdout, `revision ${r.revision} version ${r.version}\n`);
  return EXIT.ok;
}

export async function del(
  io: Io,
  client: Client,
  c: Extract<Command, { type: "del" }>,
): Promise<number> {
  const outcome = await client.request(keyPath(c.key), {
    method: "DELETE",
    headers: writeHeaders(c.ifRevision),
  });
  const { reply, code } = await expectOk(io, outcome);
  if (!reply) return code;
  const r = await parseBody(io, reply, delReply);
  if (!r) return EXIT.failed;
  await print(io.stdout, `deleted at revision ${r.revision}\n`);
  return EXIT.ok;
}

/**
 * Every write carries a fresh Idempotency-Key, so when a connection breaks and the client
 * retries on another endpoint, a write that did land is not applied twice (API.md §3).
 */
function writeHeaders(ifRevision: number | undefined): Record<string, string> {
  const headers: Record<string, string> = { "idempotency-key": `kv-cli-${crypto.randomUUID()}` };
  if (ifRevision !== undefined) headers["if-match"] = `"${ifRevision}"`;
  return headers;
}

/** The value's bytes, or why they could not be read. */
async function readValue(io: Io, source: ValueSource): Promise<Uint8Array<ArrayBuffer> | string> {
  switch (source.type) {
    case "arg":
      return encodeText(source.value);
    case "stdin":
      return await readAll(io.stdin(), VALUE_BYTES_MAX) ??
        `stdin: more than ${VALUE_BYTES_MAX} bytes`;
    case "file": {
      let file: Deno.FsFile;
      try {
        file = await Deno.open(source.path, { read: true });
      } catch (err) {
        return `cannot read ${source.path}: ${(err as Error).message}`;
      }
      try {
        // Reading to the end or cancelling closes the file.
        return await readAll(file.readable, VALUE_BYTES_MAX) ??
          `${source.path}: more than ${VALUE_BYTES_MAX} bytes`;
      } catch (err) {
        closeQuietly(file);
        return `cannot read ${source.path}: ${(err as Error).message}`;
      }
    }
  }
}

function headerNumber(value: string | null): number | null {
  const m = value === null ? null : /^(?:W\/)?"?([0-9]+)"?$/.exec(value.trim());
  return m ? Number(m[1]) : null;
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // already closed by its stream
  }
}
