// Pieces shared by the listing, transaction and watch routes: what they need from the app,
// a bounded body reader, value encoding for JSON, zod issue paths, and 410 problems.

import type { Context } from "hono";
import type { z } from "zod";
import { idempotencyKeyLengthMax } from "../kv/mod.ts";
import type { Replica } from "../replica/replica.ts";
import { problem, timedOut, unavailable } from "./problem.ts";
import type { Parsed } from "./request.ts";

export interface RouteDeps {
  replica: Replica;
  maxKeyBytes: number;
  maxValueBytes: number;
  /** A 307 to the leader when the client or the node asks for redirects, else null. */
  redirectIfFollower: (c: Context) => Response | null;
}

// ---------------------------------------------------------------- values in JSON

// fatal: invalid UTF-8 is reported, not replaced; ignoreBOM: a leading BOM is part of the value.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** `{value}` when the bytes are valid UTF-8, else `{valueBase64}` (API.md §3). */
export function valueFields(bytes: Uint8Array): { value: string } | { valueBase64: string } {
  try {
    return { value: strictUtf8.decode(bytes) };
  } catch {
    return { valueBase64: bytes.toBase64() };
  }
}

/** Base64 (standard alphabet, padding optional) to bytes; null if malformed. */
export function decodeBase64(text: string): Uint8Array | null {
  try {
    return Uint8Array.fromBase64(text);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- input

/** `success[3].key` from zod's ["success", 3, "key"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The first zod issue as "path: why", naming an unknown field by its own path. */
export function issueDetail(error: z.ZodError, root = "body"): string {
  const issue = error.issues[0];
  if (issue.code === "unrecognized_keys") {
    return `${formatPath([...issue.path, issue.keys[0]]) || root}: unknown field`;
  }
  return `${formatPath(issue.path) || root}: ${issue.message}`;
}

export type BodyRead =
  | { type: "ok"; bytes: Uint8Array }
  | { type: "tooLarge"; bytes: number };

/** Reads the request body, giving up as soon as it passes `bytesMax` (a declared
 * Content-Length over it is refused before reading anything). */
export async function readBodyLimited(req: Request, bytesMax: number): Promise<BodyRead> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > bytesMax) return { type: "tooLarge", bytes: declared };
  if (req.body === null) return { type: "ok", bytes: new Uint8Array(0) };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
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
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { type: "ok", bytes };
}

/** The `Idempotency-Key` header as a command field (1..256 characters). */
export function parseIdempotencyKey(c: Context): Parsed<{ idempotencyKey?: string }> {
  const key = c.req.header("idempotency-key");
  if (key === undefined || key === "") return { ok: true, value: {} };
  if (key.length > idempotencyKeyLengthMax) {
    return {
      ok: false,
      status: 400,
      detail: `Idempotency-Key: at most ${idempotencyKeyLengthMax} characters`,
    };
  }
  return { ok: true, value: { idempotencyKey: key } };
}

// ---------------------------------------------------------------- reads

/**
 * Makes the local state fit for a read: first waits (bounded) for `minRevision`, then takes a
 * ReadIndex barrier unless the read is serializable. A Response means "answer this instead".
 */
export async function readReady(
  replica: Replica,
  consistency: "linearizable" | "serializable" | undefined,
  minRevision: number | undefined,
): Promise<Response | null> {
  if (minRevision !== undefined && !await replica.waitApplied(minRevision)) return timedOut();
  if ((consistency ?? "linearizable") === "serializable") return null;
  const barrier = await replica.readBarrier();
  switch (barrier.type) {
    case "ok":
      return null;
    case "unavailable":
      return unavailable(barrier.reason);
    case "timeout":
      return timedOut();
  }
}

// ---------------------------------------------------------------- errors

/** 410 Gone: history this request needs is no longer kept (problem.ts has no 410 title). */
export function gone(detail: string, extra: Record<string, unknown> = {}): Response {
  return problem(410, detail, {
    ...extra,
    type: "https://raftkv.dev/problems/gone",
    title: "Gone",
  });
}

export { problem, timedOut, unavailable };
