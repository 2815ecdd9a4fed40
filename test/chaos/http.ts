// The workload's HTTP requests. The cluster harness's KvClient folds every transport error into
// one message ("fetch failed"), but the workload must tell "connection refused" (the request
// never reached a node: not applied) from every other failure (indeterminate), and that is only
// in the error's cause chain. Responses use the harness's HttpResult shape.

import { type HttpResult, kvPath } from "../cluster/kv_client.ts";

export interface KvRequest {
  method: "GET" | "PUT" | "DELETE";
  key: string;
  body?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  timeoutMs: number;
}

export type Sent =
  | { type: "answered"; result: HttpResult }
  /** Refused at TCP connect: nothing was sent. */
  | { type: "refused"; message: string }
  /** Anything else: timeout, reset, closed mid-request. */
  | { type: "lost"; message: string };

const decoder = new TextDecoder();

/** One request on a fresh connection (the client must not pool: see isRefused). */
export async function sendKv(http: Deno.HttpClient, baseUrl: string, r: KvRequest): Promise<Sent> {
  const url = new URL(kvPath(r.key), baseUrl);
  for (const [name, value] of Object.entries(r.query ?? {})) url.searchParams.set(name, value);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), r.timeoutMs);
  try {
    const response = await fetch(url, {
      method: r.method,
      headers: r.headers,
      body: r.body,
      redirect: "manual",
      signal: abort.signal,
      client: http,
    });
    const body = new Uint8Array(await response.arrayBuffer());
    const text = decoder.decode(body);
    const result: HttpResult = {
      status: response.status,
      headers: response.headers,
      body,
      text,
      json: () => JSON.parse(text),
    };
    return { type: "answered", result };
  } catch (err) {
    const message = causes(err);
    return isRefused(message) ? { type: "refused", message } : { type: "lost", message };
  } finally {
    clearTimeout(timer);
  }
}

/** An HTTP client without connection reuse, so "refused" always means a fresh connect. */
export function freshConnectionClient(): Deno.HttpClient {
  return Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
}

function isRefused(message: string): boolean {
  return /tcp connect error: Connection refused|os error 111/.test(message);
}

/** The error's message and its causes', innermost last (bounded). */
function causes(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ").slice(0, 300);
}
