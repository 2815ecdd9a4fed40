// Parsing and validating request input at the edge (zod), with errors that name the field.

import { z } from "zod";
import { utf8Length } from "../kv/mod.ts";

export type Parsed<T> = { ok: true; value: T } | { ok: false; status: 400 | 413; detail: string };

const KV_PREFIX = "/v1/kv/";

/** The key from the raw request path (percent-decoded, UTF-8, 1..maxBytes bytes). */
export function parseKey(url: string, maxBytes: number): Parsed<string> {
  const path = new URL(url).pathname;
  const raw = path.startsWith(KV_PREFIX) ? path.slice(KV_PREFIX.length) : "";
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    return { ok: false, status: 400, detail: "key: invalid percent-encoding" };
  }
  if (key.length === 0) return { ok: false, status: 400, detail: "key: must not be empty" };
  if (key.includes("\uFFFD") && !raw.includes("%EF%BF%BD")) {
    return { ok: false, status: 400, detail: "key: not valid UTF-8" };
  }
  const bytes = utf8Length(key);
  if (bytes > maxBytes) {
    return {
      ok: false,
      status: 413,
      detail: `key: ${bytes} bytes is over the limit of ${maxBytes} bytes`,
    };
  }
  return { ok: true, value: key };
}

const uintString = (field: string) =>
  z.string().regex(/^[0-9]{1,15}$/, `${field}: expected a non-negative integer`).transform(Number);

const consistency = z.enum(["linearizable", "serializable"], {
  error: () => 'consistency: expected "linearizable" or "serializable"',
});

export const putQuery = z.object({
  ttl: uintString("ttl").pipe(
    z.number().min(1, "ttl: must be at least 1 second").max(
      3_153_600_000,
      "ttl: must be at most 100 years",
    ),
  ).optional(),
});

export const getQuery = z.object({
  consistency: consistency.optional(),
  minRevision: uintString("minRevision").optional(),
});

/** Validates a query object with a schema; the first issue becomes the error detail. */
export function parseQuery<T>(schema: z.ZodType<T>, query: Record<string, string>): Parsed<T> {
  const r = schema.safeParse(query);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const field = issue.path.join(".");
  const message = issue.message.includes(":") ? issue.message : `${field}: ${issue.message}`;
  return { ok: false, status: 400, detail: message };
}

/** `If-Match: "R"` (or `R`) → R; `*` means "exists" and is not supported as a revision. */
export function parseIfMatch(header: string | undefined): Parsed<number | undefined> {
  if (header === undefined) return { ok: true, value: undefined };
  const m = /^\s*(?:W\/)?"?([0-9]{1,15})"?\s*$/.exec(header);
  if (!m) {
    return {
      ok: false,
      status: 400,
      detail: 'If-Match: expected a revision in quotes, e.g. If-Match: "42"',
    };
  }
  const revision = Number(m[1]);
  // Revisions start at 1 (a put's is its log index): 0 can only be a mistake.
  if (revision === 0) return { ok: false, status: 400, detail: "If-Match: revisions start at 1" };
  return { ok: true, value: revision };
}

export function parseIfNoneMatch(header: string | undefined): Parsed<boolean> {
  if (header === undefined) return { ok: true, value: false };
  if (header.trim() === "*") return { ok: true, value: true };
  return { ok: false, status: 400, detail: "If-None-Match: only * (create only) is supported" };
}
