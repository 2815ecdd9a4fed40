// A small HTTP client for one node's API (API.md §3), written against the documented
// contract only: every response body is read to the end (so Deno's sanitizers see no
// leaked resource), and every request has a deadline.

import { z } from "zod";

/** A finished response: status, headers and the whole body. */
export interface HttpResult {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text: string;
  /** The body parsed as JSON; throws with the body in the message if it is not JSON. */
  json(): unknown;
}

/** What a request can fail with before any HTTP status: refused, reset, or too slow. */
export class NetworkError extends Error {}

/** A response that breaks the documented contract (API.md §3). */
export class ContractError extends Error {}

export interface RequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  timeoutMs?: number;
}

/** Documented roles (API.md §3, Shapes). */
export const ROLES = ["leader", "follower", "candidate", "learner"] as const;

const count = z.number().int().nonnegative();
const memberSchema = z.object({
  id: z.string().min(1),
  client: z.string().nullable(),
  peer: z.string().nullable(),
  voter: z.boolean(),
  matchIndex: count.nullable(),
  connected: z.boolean().nullable(),
  lastContactMs: z.number().nonnegative().nullable(),
});

/** GET /v1/status, as API.md §3 documents it (extra fields allowed). */
export const statusSchema = z.object({
  id: z.string().min(1),
  role: z.enum(ROLES),
  term: count,
  leader: z.object({ id: z.string().min(1), client: z.string() }).nullable(),
  commitIndex: count,
  appliedIndex: count,
  lastLogIndex: count,
  snapshotIndex: count,
  members: z.array(memberSchema).min(1),
});
export type Status = z.output<typeof statusSchema>;
export type MemberStatus = z.output<typeof memberSchema>;

/** RFC 9457 problem details (API.md §3, Errors). */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
});
export type ProblemBody = z.output<typeof problemSchema>;

export const putResultSchema = z.object({ revision: count, version: count });
export const deleteResultSchema = z.object({ revision: count });

const DEFAULT_TIMEOUT_MS = 10_000;
const decoder = new TextDecoder();

export class KvClient {
  constructor(
    /** "http://host:port" */
    readonly baseUrl: string,
    private readonly http: Deno.HttpClient,
  ) {}

  /** One request; redirects are returned, not followed. Throws NetworkError below HTTP. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
    const url = new URL(path, this.baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      url.searchParams.set(name, value);
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        method,
        headers: options.headers,
        body: typeof options.body === "string" || options.body === undefined
          ? options.body
          : new Uint8Array(options.body),
        redirect: "manual",
        signal: abort.signal,
        client: this.http,
      });
      const body = new Uint8Array(await response.arrayBuffer());
      return toResult(response, body);
    } catch (err) {
      throw new NetworkError(`${method} ${url}: ${err instanceof Error ? err.message : err}`);
    } finally {
      clearTimeout(timer);
    }
  }

  put(key: string, value: string | Uint8Array, options: RequestOptions = {}) {
    return this.request("PUT", kvPath(key), { ...options, body: value });
  }

  get(key: string, options: RequestOptions = {}) {
    return this.request("GET", kvPath(key), options);
  }

  del(key: string, options: RequestOptions = {}) {
    return this.request("DELETE", kvPath(key), options);
  }

  /** GET /v1/status validated against the documented shape; throws if it does not match. */
  async status(timeoutMs = 2000): Promise<Status> {
    const result = await this.request("GET", "/v1/status", { timeoutMs });
    if (result.status !== 200) {
      throw new Error(`GET /v1/status: ${result.status} ${result.text}`);
    }
    const parsed = statusSchema.safeParse(result.json());
    if (!parsed.success) {
      throw new ContractError(
        `GET /v1/status: undocumented shape: ${
          JSON.stringify(parsed.error.issues)
        } in ${result.text}`,
      );
    }
    return parsed.data;
  }

  health(timeoutMs = 2000) {
    return this.request("GET", "/v1/health", { timeoutMs });
  }
}

/** "/v1/kv/<key>", the key percent-encoded as one path segment. */
export function kvPath(key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`;
}

function toResult(response: Response, body: Uint8Array): HttpResult {
  const text = decoder.decode(body);
  return {
    status: response.status,
    headers: response.headers,
    body,
    text,
    json() {
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`not JSON (status ${response.status}): ${text.slice(0, 500)}`);
      }
    },
  };
}

/** The body of a successful PUT, or an error naming what came back instead. */
export function putResult(result: HttpResult): z.output<typeof putResultSchema> {
  if (result.status !== 200) throw new Error(`PUT: ${result.status} ${result.text}`);
  return putResultSchema.parse(result.json());
}

/** Statuses after which a write may be retried with the same Idempotency-Key. */
const RETRYABLE = new Set([503, 504]);

/**
 * PUT until acknowledged (200), retrying 503/504 and network errors with one
 * Idempotency-Key, so a retry can never apply the write twice (API.md §3, Exactly once).
 * Any other status fails at once: it is an answer, not an outage.
 */
export async function putAcked(
  pick: (attempt: number) => KvClient,
  key: string,
  value: string | Uint8Array,
  timeoutMs = 10_000,
): Promise<z.output<typeof putResultSchema>> {
  const idempotencyKey = crypto.randomUUID();
  const deadline = performance.now() + timeoutMs;
  let last = "";
  for (let attempt = 0; performance.now() < deadline; attempt++) {
    try {
      const result = await pick(attempt).put(key, value, {
        headers: { "idempotency-key": idempotencyKey },
        timeoutMs: Math.max(100, Math.min(3000, deadline - performance.now())),
      });
      if (result.status === 200) return putResultSchema.parse(result.json());
      if (!RETRYABLE.has(result.status)) {
        throw new Error(`PUT ${key}: ${result.status} ${result.text}`);
      }
      last = `${result.status} ${result.text}`;
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      last = err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`PUT ${key} not acknowledged within ${timeoutMs} ms; last: ${last}`);
}
