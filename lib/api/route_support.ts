// Pieces shared by the listing, transaction and watch routes: what they need from the app,
// a bounded body reader, value encoding for JSON, zod issue paths, and 410 problems.

import type { Context } from "hono";
import type { z } from "zod";
import { type CommandResult, idempotencyKeyLengthMax } from "../kv/mod.ts";
import type { Replica } from "../replica/replica.ts";
import { notAppliedInTime, problem, readTimedOut, timedOut, unavailable } from "./problem.ts";
import type { Parsed } from "./request.ts";
import { readLimited } from "../bytes.ts";

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

const IDENTIFIER = /^[A-Za-z_][\w-]*$/;

/** `success[3].key` from zod's ["success", 3, "key"]; an odd name is quoted: `a["x y"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (!IDENTIFIER.test(String(part))) out += `[${JSON.stringify(String(part))}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The first zod issue as "path: why", naming an unknown field by its own path. */
export function issueDetail(error: z.ZodError, root = "body"): string {
  const issue = error.issues[0];
  const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]] : issue.path;
  const where = formatPath(path);
  const field = where === "" ? root : where.startsWith("[") ? root + where : where;
  return `${field}: ${issue.code === "unrecognized_keys" ? "unknown field" : issue.message}`;
}

export type BodyRead =
  | { type: "ok"; bytes: Uint8Array }
  | { type: "tooLarge"; bytes: number }
  /** The client went away or sent a broken body (bad chunking, short of Content-Length). */
  | { type: "broken"; reason: string };

/** Reads the request body, giving up as soon as it passes `bytesMax` (a declared
 * Content-Length over it is refused before reading anything). */
export async function readBodyLimited(req: Request, bytesMax: number): Promise<BodyRead> {
  const length = req.headers.get("content-length");
  const declared = Number(length ?? "0");
  if (declared > bytesMax) return { type: "tooLarge", bytes: declared };
  if (req.body === null) return { type: "ok", bytes: new Uint8Array(0) };
  try {
    // The server holds a body to its declared length (unless chunked), so that is all there is
    // to read, in one piece (a stream reader costs several times as much per request).
    if (
      length !== null && Number.isSafeInteger(declared) && !req.headers.has("transfer-encoding")
    ) {
      const bytes = new Uint8Array(await req.arrayBuffer());
      return bytes.byteLength > bytesMax
        ? { type: "tooLarge", bytes: bytes.byteLength }
        : { type: "ok", bytes };
    }
    return await readLimited(req.body, bytesMax);
  } catch (e) {
    return { type: "broken", reason: e instanceof Error ? e.message : String(e) };
  }
}

/** The body's bytes, or the problem to answer: 413 past `bytesMax` (a body still being
 * sent is cut off there, so memory stays bounded), 400 if the body broke off. */
export async function readBody(
  req: Request,
  bytesMax: number,
  field: string,
  what = "",
): Promise<Uint8Array | Response> {
  const body = await readBodyLimited(req, bytesMax);
  switch (body.type) {
    case "ok":
      return body.bytes;
    case "tooLarge":
      return problem(
        413,
        `${field}: ${body.bytes} bytes is over the limit of ${bytesMax} bytes${what}`,
      );
    case "broken":
      return problem(400, `${field}: could not be read (${body.reason})`);
  }
}

// fatal: invalid UTF-8 is an error, not silently replaced.
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** A JSON body read with readBody; an empty body is `empty`. 400 for invalid UTF-8 or JSON. */
export async function readJsonBody(
  req: Request,
  bytesMax: number,
  empty?: unknown,
  what = "",
): Promise<{ value: unknown } | Response> {
  const bytes = await readBody(req, bytesMax, "body", what);
  if (bytes instanceof Response) return bytes;
  let text: string;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    return problem(400, "body: not valid UTF-8");
  }
  if (empty !== undefined && text.trim() === "") return { value: empty };
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return problem(400, `body: not valid JSON (${(e as Error).message})`);
  }
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

/** 409 for a retry whose Idempotency-Key was first used for another kind of write (its
 * recorded result is not one this request can have). */
export function idempotencyConflict(recorded: CommandResult, request: string): Response {
  const first = recorded.type === "put"
    ? "PUT"
    : recorded.type === "delete" || recorded.type === "notFound"
    ? "DELETE"
    : recorded.type === "txn"
    ? "transaction"
    : recorded.type;
  return problem(409, `Idempotency-Key: already used for a ${first}, not a ${request}`);
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
  if (minRevision !== undefined && !await replica.waitApplied(minRevision)) {
    return notAppliedInTime("minRevision", minRevision, replica.sm.appliedIndex);
  }
  if ((consistency ?? "linearizable") === "serializable") return null;
  const barrier = await replica.readBarrier();
  switch (barrier.type) {
    case "ok":
      return null;
    case "unavailable":
      return unavailable(barrier.reason);
    case "timeout":
      return readTimedOut();
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

export { notAppliedInTime, problem, timedOut, unavailable };
