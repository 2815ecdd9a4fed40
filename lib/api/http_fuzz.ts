// Seeded HTTP fuzzing of the client API (test support, used by fuzz_test.ts and the
// real-process burst in test/cluster): random and near-valid requests to every route, a
// sender, and the checks every answer must pass. One seed gives one request sequence.

import { problemSchema } from "../../test/cluster/kv_client.ts";
import type { Rng } from "../../test/rng.ts";
import { concatBytes } from "../bytes.ts";

export interface FuzzRequest {
  method: string;
  /** Path and query as sent (may hold malformed percent-encoding). */
  target: string;
  headers: [string, string][];
  body: Uint8Array | null;
  /** Send the body as a stream: chunked, no Content-Length. */
  chunked: boolean;
}

export interface FuzzTarget {
  /** Keys that exist or will (so compare-and-swap and reads hit something). */
  keys: string[];
  /** Member ids: leader transfers go to them; they are never removed. */
  members: string[];
  maxValueBytes: number;
}

const encoder = new TextEncoder();

// ---------------------------------------------------------------- small pieces

const ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./~";
const ODD = [
  "",
  " ",
  "%",
  "%2",
  "%ZZ",
  "%FF",
  "%C3%28",
  "%ED%A0%80", // a UTF-8-encoded lone surrogate
  "%00",
  "%0D%0A",
  "..",
  "/",
  "//",
  "?",
  "#",
  "&",
  "=",
  "é",
  "日本",
  "😀",
  "\uFFFD",
  "%EF%BF%BD",
  "+",
  "%2F",
  "null",
  "undefined",
  "__proto__",
  "constructor",
];

function asciiString(rng: Rng, max: number): string {
  let s = "";
  const n = rng.int(0, max);
  for (let i = 0; i < n; i++) s += ASCII[rng.int(0, ASCII.length - 1)];
  return s;
}

function oddString(rng: Rng): string {
  const parts: string[] = [];
  for (let i = rng.int(1, 4); i > 0; i--) {
    parts.push(rng.chance(0.5) ? rng.pick(ODD) : asciiString(rng, 8));
  }
  return parts.join("");
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = rng.int(0, 255);
  return bytes;
}

/** A query or header value: numbers of every kind, text, garbage, sometimes long. */
function fuzzValue(rng: Rng): string {
  switch (rng.int(0, 11)) {
    case 0:
      return String(rng.int(0, 20));
    case 1:
      return String(rng.int(0, 100_000));
    case 2:
      return rng.pick(["-1", "-0", "1.5", "1e3", "0x10", "Infinity", "NaN", " 7", "7 "]);
    case 3:
      return rng.pick(["99999999999999999999", "9007199254740993", "123456789012345"]);
    case 4:
      return rng.pick(["true", "false", "1", "0", "", "yes"]);
    case 5:
      return rng.pick(["linearizable", "serializable", "LINEARIZABLE", "stale"]);
    case 6:
      return "x".repeat(rng.pick([300, 2000, 9000]));
    case 7:
      return `"${rng.int(0, 30)}"`;
    default:
      return oddString(rng);
  }
}

/** Percent-encodes what a URL parser would otherwise reject or reinterpret, keeping `%`. */
function pathSafe(s: string): string {
  return s.replace(/[\s#?"<>\\^`{|}]/g, (c) => encodeURIComponent(c));
}

function fuzzKey(rng: Rng, t: FuzzTarget): string {
  switch (rng.int(0, 9)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return encodeURIComponent(rng.pick(t.keys));
    case 4:
      return pathSafe(oddString(rng));
    case 5:
      return rng.pick(["a".repeat(1024), "a".repeat(1025), "é".repeat(513), ""]);
    case 6:
      return `${encodeURIComponent(rng.pick(t.keys))}/${pathSafe(oddString(rng))}`;
    default:
      return encodeURIComponent(asciiString(rng, 12) || "k");
  }
}

// ---------------------------------------------------------------- bodies

function jsonValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth > 2 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, 2 ** 53 + 2, rng.int(0, 100)]);
    case 3:
      return fuzzValue(rng);
    case 4:
      return rng.pick(["", "AAEC", "!!!", "=", "AAE"]);
    case 5:
      return rng.pick([[], {}]);
    case 6:
      return Array.from({ length: rng.int(0, 3) }, () => jsonValue(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 3); i > 0; i--) {
        o[rng.pick(["op", "key", "value", "target", "id", "to", asciiString(rng, 5)])] = jsonValue(
          rng,
          depth + 1,
        );
      }
      return o;
    }
  }
}

function validOp(rng: Rng, t: FuzzTarget): Record<string, unknown> {
  const key = rng.pick(t.keys);
  switch (rng.int(0, 2)) {
    case 0:
      return rng.chance(0.5)
        ? { op: "put", key, value: asciiString(rng, 20) }
        : { op: "put", key, valueBase64: "AAEC", ttl: rng.int(1, 100) };
    case 1:
      return { op: "get", key };
    default:
      return { op: "delete", key };
  }
}

function validCompare(rng: Rng, t: FuzzTarget): Record<string, unknown> {
  const key = rng.pick(t.keys);
  const op = rng.pick(["==", "!=", "<", ">"]);
  switch (rng.int(0, 2)) {
    case 0:
      return { key, target: "value", op, value: asciiString(rng, 4) };
    case 1:
      return { key, target: rng.pick(["version", "revision"]), op, value: rng.int(0, 50) };
    default:
      return { key, target: "exists", op: rng.pick(["==", "!="]), value: rng.chance(0.5) };
  }
}

/** Replaces, removes or adds one field somewhere in `value` (a plain JSON tree). */
function mutate(rng: Rng, value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || rng.chance(0.2)) return [...value, jsonValue(rng)];
    const copy = [...value];
    const i = rng.int(0, copy.length - 1);
    copy[i] = rng.chance(0.7) ? mutate(rng, copy[i]) : jsonValue(rng);
    return copy;
  }
  if (value !== null && typeof value === "object") {
    const copy: Record<string, unknown> = { ...value as Record<string, unknown> };
    const keys = Object.keys(copy);
    if (keys.length === 0 || rng.chance(0.15)) {
      copy[rng.pick(["extra", "op", "key", "ttl", "valueBase64", asciiString(rng, 4)])] = jsonValue(
        rng,
      );
      return copy;
    }
    const k = rng.pick(keys);
    if (rng.chance(0.2)) delete copy[k];
    else copy[k] = rng.chance(0.6) ? mutate(rng, copy[k]) : jsonValue(rng);
    return copy;
  }
  return jsonValue(rng);
}

function txnBody(rng: Rng, t: FuzzTarget): unknown {
  const ops = (n: number) => Array.from({ length: n }, () => validOp(rng, t));
  const body = {
    compare: Array.from({ length: rng.int(0, 3) }, () => validCompare(rng, t)),
    success: ops(rng.int(0, 4)),
    failure: ops(rng.int(0, 2)),
  };
  if (rng.chance(0.05)) body.success = ops(129); // over the limit of ops
  return rng.chance(0.35) ? body : mutate(rng, rng.chance(0.5) ? body : mutate(rng, body));
}

function memberBody(rng: Rng, t: FuzzTarget): unknown {
  const body = {
    // Existing ids (a conflict) or malformed ones: a fuzz run never really grows the cluster.
    id: rng.chance(0.5) ? rng.pick(t.members) : `bad id ${asciiString(rng, 3)}`,
    client: "http://127.0.0.1:1",
    peer: "ws://127.0.0.1:2",
  };
  return rng.chance(0.5) ? body : mutate(rng, body);
}

/** A JSON body as bytes, or something that is not quite JSON. */
function jsonBytes(rng: Rng, value: unknown): Uint8Array {
  const text = JSON.stringify(value) ?? "null";
  switch (rng.int(0, 9)) {
    case 0:
      return encoder.encode(text.slice(0, rng.int(0, text.length))); // truncated
    case 1: {
      // Invalid UTF-8 spliced in, often inside a string.
      const bytes = encoder.encode(text);
      const at = rng.int(0, bytes.length);
      const bad = rng.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0x80]]);
      return new Uint8Array([...bytes.subarray(0, at), ...bad, ...bytes.subarray(at)]);
    }
    case 2:
      return encoder.encode(rng.pick(["", " ", "null", "[]", "{", "}", '"x"', "1", "{}{}"]));
    case 3:
      return encoder.encode("[".repeat(rng.pick([1000, 100_000])));
    default:
      return encoder.encode(text);
  }
}

/** A value body: usually small, sometimes exactly at or just over the limit, or garbage. */
function valueBody(rng: Rng, t: FuzzTarget): Uint8Array {
  switch (rng.int(0, 7)) {
    case 0:
      return new Uint8Array(0);
    case 1:
      return randomBytes(rng, rng.int(1, 64));
    case 2:
      return new Uint8Array(rng.pick([t.maxValueBytes, t.maxValueBytes + 1]));
    case 3:
      return new Uint8Array(rng.pick([4 * t.maxValueBytes, 2 * 1024 * 1024]));
    default:
      return encoder.encode(asciiString(rng, 30));
  }
}

// ---------------------------------------------------------------- requests

const METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "FOO"];
const QUERY_NAMES = [
  "ttl",
  "consistency",
  "minRevision",
  "prefix",
  "after",
  "limit",
  "keysOnly",
  "revision",
  "fromRevision",
  "lastEventId",
  "redirect",
  "x",
];

function query(rng: Rng, names: string[]): string {
  const parts: string[] = [];
  for (let i = rng.int(0, 3); i > 0; i--) {
    const name = rng.chance(0.85) ? rng.pick(names) : rng.pick(QUERY_NAMES);
    const value = fuzzValue(rng);
    // Mostly well encoded, sometimes raw (malformed percent-encoding reaches the server).
    parts.push(`${name}=${rng.chance(0.7) ? encodeURIComponent(value) : pathSafe(value)}`);
  }
  if (rng.chance(0.05)) parts.push(`${rng.pick(names)}=1&${rng.pick(names)}=2`);
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

/** A watch event id: of a revision the node has or of one far ahead ("R.k": inside R). */
function eventId(rng: Rng): string {
  const revision = rng.int(0, rng.pick([40, 100_000]));
  return rng.chance(0.5) ? `${revision}.${rng.int(0, 3)}` : String(revision);
}

function headers(rng: Rng, extra: [string, string][] = []): [string, string][] {
  const out: [string, string][] = [...extra];
  const candidates: [string, () => string][] = [
    ["if-match", () => rng.chance(0.5) ? `"${rng.int(0, 40)}"` : fuzzValue(rng)],
    ["if-none-match", () => rng.chance(0.5) ? "*" : fuzzValue(rng)],
    [
      "idempotency-key",
      () => rng.chance(0.5) ? `k${rng.int(0, 20)}` : "i".repeat(rng.pick([1, 256, 257, 4000])),
    ],
    [
      "last-event-id",
      () => rng.chance(0.5) ? eventId(rng) : fuzzValue(rng),
    ],
    [
      "content-type",
      () =>
        rng.pick(["application/json", "text/plain", "application/octet-stream", fuzzValue(rng)]),
    ],
    ["accept", () => rng.pick(["text/event-stream", "*/*", "application/json"])],
    ["upgrade", () => "websocket"],
    ["x-" + asciiString(rng, 6).replace(/[^a-z0-9-]/gi, "a"), () => fuzzValue(rng)],
  ];
  for (const [name, make] of candidates) if (rng.chance(0.12)) out.push([name, make()]);
  // Header values must be visible ASCII for fetch: drop what it would refuse.
  return out.filter(([, v]) => /^[\x20-\x7e]*$/.test(v));
}

/** One request to a random route, mostly well-formed enough to reach the handlers. */
export function fuzzRequest(rng: Rng, t: FuzzTarget): FuzzRequest {
  const method = rng.chance(0.1) ? rng.pick(METHODS) : "";
  const req = (m: string, target: string, body: Uint8Array | null = null): FuzzRequest => ({
    method: method || m,
    target,
    headers: headers(rng),
    body: (method || m) === "GET" || (method || m) === "HEAD" ? null : body,
    chunked: body !== null && rng.chance(0.3),
  });
  switch (rng.int(0, 19)) {
    case 0:
    case 1:
    case 2:
    case 3:
      return req(
        "PUT",
        `/v1/kv/${fuzzKey(rng, t)}${query(rng, ["ttl"])}`,
        valueBody(rng, t),
      );
    case 4:
    case 5:
      return req("GET", `/v1/kv/${fuzzKey(rng, t)}${query(rng, ["consistency", "minRevision"])}`);
    case 6:
      return req("DELETE", `/v1/kv/${fuzzKey(rng, t)}${query(rng, ["x"])}`);
    case 7:
    case 8:
      return req(
        "GET",
        `/v1/kv${query(rng, ["prefix", "after", "limit", "keysOnly", "revision", "consistency"])}`,
      );
    case 9:
    case 10:
    case 11:
      return req("POST", `/v1/txn${query(rng, ["x"])}`, jsonBytes(rng, txnBody(rng, t)));
    case 12:
    case 13: {
      const watch = req("GET", `/v1/watch${query(rng, ["prefix", "fromRevision", "lastEventId"])}`);
      if (rng.chance(0.4)) watch.headers.push(["last-event-id", eventId(rng)]);
      return watch;
    }
    case 14: {
      if (rng.chance(0.5)) {
        return req("POST", "/v1/members", jsonBytes(rng, memberBody(rng, t)));
      }
      // Never an existing member: the fuzz must not shrink the cluster.
      return req("DELETE", `/v1/members/${pathSafe(oddString(rng)) || "zz"}`);
    }
    case 15: {
      const body = rng.chance(0.5) ? { to: rng.pick(t.members) } : jsonValue(rng);
      return req("POST", "/v1/leader/transfer", jsonBytes(rng, body));
    }
    case 16:
      return req(
        "GET",
        rng.pick(["/v1/status", "/v1/health", "/metrics", "/v1/members", "/v1/snapshot", "/"]) +
          query(rng, ["consistency", "redirect"]),
      );
    case 17:
      return req(
        rng.pick(METHODS),
        rng.pick(["/v1/kv/", "/v1/", "/v1/kv/%", "/v2/kv/a", "/v1/txn/x", "/v1/watch/x"]) +
          pathSafe(oddString(rng)),
        randomBytes(rng, rng.int(0, 100)),
      );
    default:
      return req(rng.pick(METHODS), `/${pathSafe(oddString(rng))}`, randomBytes(rng, 16));
  }
}

/** A one-line description for failure messages. */
export function describe(req: FuzzRequest): string {
  const headers = req.headers.map(([n, v]) => `${n}: ${v.length > 40 ? `${v.slice(0, 40)}…` : v}`);
  const target = req.target.length > 120 ? `${req.target.slice(0, 120)}…` : req.target;
  const body = req.body === null ? "no body" : `${req.body.byteLength} body bytes`;
  return `${req.method} ${target} [${headers.join("; ")}] ${body}${req.chunked ? " chunked" : ""}`;
}

// ---------------------------------------------------------------- sending and checking

export interface FuzzReply {
  status: number;
  contentType: string;
  /** At most REPLY_BYTES_MAX bytes: a stream (watch) is cut off after its first chunk. */
  body: Uint8Array;
}

const REPLY_BYTES_MAX = 1024 * 1024;

/** Sends `req` to `baseUrl` with fetch; a watch stream is read for its head and dropped. */
export async function send(
  baseUrl: string,
  req: FuzzRequest,
  client: Deno.HttpClient,
  timeoutMs = 15_000,
): Promise<FuzzReply> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const body = req.body === null
      ? undefined
      : req.chunked
      ? ReadableStream.from(chunks(req.body))
      : new Uint8Array(req.body);
    const res = await fetch(baseUrl + req.target, {
      method: req.method,
      headers: req.headers,
      body,
      redirect: "manual",
      signal: abort.signal,
      client,
    });
    const contentType = res.headers.get("content-type") ?? "";
    const stream = contentType.startsWith("text/event-stream");
    const out: Uint8Array[] = [];
    let total = 0;
    if (res.body !== null) {
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          out.push(value);
          total += value.byteLength;
          if (stream || total >= REPLY_BYTES_MAX) break;
        }
      } finally {
        await reader.cancel().catch(() => {});
      }
    }
    return { status: res.status, contentType, body: concatBytes(out) };
  } finally {
    clearTimeout(timer);
  }
}

function* chunks(bytes: Uint8Array): Generator<Uint8Array> {
  const step = 64 * 1024;
  for (let at = 0; at < bytes.byteLength; at += step) yield bytes.slice(at, at + step);
}

/** Statuses the API documents (API.md §3), plus 307 for ?redirect. */
const DOCUMENTED = new Set([200, 307, 400, 404, 405, 409, 410, 412, 413, 503, 504]);
/** "field: why" — a problem detail that names what was wrong. */
const NAMES_FIELD = /^[A-Za-z][\w-]*(?:\.[A-Za-z_][\w-]*|\[(?:\d+|"(?:[^"\\]|\\.)*")\])*: \S/;
const decoder = new TextDecoder();

/** What is wrong with `reply` to `req`, or null if it keeps the contract. */
export function checkReply(req: FuzzRequest, reply: FuzzReply): string | null {
  // 204: a CORS preflight of the routes the dashboard reads from other members.
  const preflight = req.method === "OPTIONS" && reply.status === 204;
  if (!DOCUMENTED.has(reply.status) && !preflight) return `undocumented status ${reply.status}`;
  if (req.method === "HEAD") return null;
  if (reply.status >= 400) {
    if (!reply.contentType.startsWith("application/problem+json")) {
      return `${reply.status} with content-type ${reply.contentType}`;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(decoder.decode(reply.body));
    } catch {
      return `${reply.status} with a body that is not JSON`;
    }
    const parsed = problemSchema.safeParse(raw);
    if (!parsed.success) return `not a problem body: ${decoder.decode(reply.body)}`;
    if (parsed.data.status !== reply.status) {
      return `problem status ${parsed.data.status} on a ${reply.status}`;
    }
    if ((reply.status === 400 || reply.status === 413) && !NAMES_FIELD.test(parsed.data.detail)) {
      return `${reply.status} whose detail names no field: ${parsed.data.detail}`;
    }
    return null;
  }
  if (reply.contentType.startsWith("application/json")) {
    try {
      JSON.parse(decoder.decode(reply.body));
    } catch {
      return `${reply.status} application/json that does not parse`;
    }
  }
  return null;
}

/** One request of a fuzz round: where it goes and how a failure names it. */
export interface Aimed {
  req: FuzzRequest;
  baseUrl: string;
  /** E.g. "seed 4001 request 17 to b". */
  where: string;
}

/** Sends `requests`, `concurrency` at a time; counts statuses into `statuses` and returns one
 * line per answer that breaks the contract (or per request that got no answer). */
export async function fuzzRound(
  requests: Aimed[],
  client: Deno.HttpClient,
  concurrency: number,
  statuses = new Map<number, number>(),
): Promise<string[]> {
  const failures: string[] = [];
  for (let at = 0; at < requests.length; at += concurrency) {
    await Promise.all(
      requests.slice(at, at + concurrency).map(async ({ req, baseUrl, where }) => {
        const name = `${where}: ${describe(req)}`;
        try {
          const reply = await send(baseUrl, req, client);
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          const wrong = checkReply(req, reply);
          if (wrong !== null) failures.push(`${name}\n  -> ${wrong}`);
        } catch (e) {
          failures.push(`${name}\n  -> no answer: ${e instanceof Error ? e.message : e}`);
        }
      }),
    );
  }
  return failures;
}
