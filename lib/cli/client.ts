// HTTP to the cluster: tries each endpoint in turn on connection failure, sticks to the one
// that answered, bounds time and body size, and always consumes or cancels response bodies.

import { type Io, readAll } from "./io.ts";

export interface Reply {
  status: number;
  headers: Headers;
  body: Uint8Array;
  endpoint: string;
}

export type Outcome =
  | { type: "reply"; reply: Reply }
  /** Every endpoint failed to connect: nothing was processed anywhere (exit 3). */
  | { type: "unreachable"; detail: string }
  /** Timed out, body too large, or the connection broke mid-answer. */
  | { type: "failed"; detail: string }
  | { type: "interrupted" };

export type Opened = { type: "stream"; response: Response; endpoint: string } | Outcome;

export interface RequestInit {
  method?: "GET" | "PUT" | "DELETE";
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer>;
}

export interface ClientOptions {
  /** Whole request, body included. The server gives up on a write after ~5 s (504). */
  requestTimeoutMs?: number;
  bodyBytesMax?: number;
}

export class Client {
  readonly #endpoints: readonly string[];
  readonly #io: Io;
  readonly #requestTimeoutMs: number;
  readonly #bodyBytesMax: number;
  /** Index of the endpoint that last answered: later requests start there. */
  #preferred = 0;

  constructor(endpoints: readonly string[], io: Io, options: ClientOptions = {}) {
    if (endpoints.length === 0) throw new Error("Client: no endpoints");
    this.#endpoints = endpoints;
    this.#io = io;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#bodyBytesMax = options.bodyBytesMax ?? 256 * 1024 * 1024;
  }

  /** One request with its whole body read. Path and query are relative to the endpoint. */
  async request(path: string, init: RequestInit = {}): Promise<Outcome> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#requestTimeoutMs);
    const signal = AbortSignal.any([this.#io.signal, timeout.signal]);
    try {
      const opened = await this.#open(path, init, signal);
      if (opened.type !== "stream") return opened;
      return await this.#readReply(opened.response, opened.endpoint);
    } catch (err) {
      if (this.#io.signal.aborted) return { type: "interrupted" };
      if (timeout.signal.aborted) return this.#timedOut();
      return {
        type: "failed",
        detail: `connection broke while reading the answer: ${reason(err)}`,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Opens a long-lived stream (watch). Only the wait for the response head is bounded; a
   * non-2xx answer comes back as a reply with its body read. The caller owns the stream.
   */
  async stream(path: string, headers: Record<string, string>): Promise<Opened> {
    const head = new AbortController();
    const timer = setTimeout(() => head.abort(), this.#requestTimeoutMs);
    // Once the timer is cleared `head` never fires, so the stream outlives the head timeout.
    const signal = AbortSignal.any([this.#io.signal, head.signal]);
    try {
      const opened = await this.#open(path, { headers }, signal);
      if (opened.type !== "stream" || opened.response.ok) return opened;
      return await this.#readReply(opened.response, opened.endpoint);
    } catch (err) {
      if (this.#io.signal.aborted) return { type: "interrupted" };
      if (head.signal.aborted) return this.#timedOut();
      return { type: "failed", detail: reason(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  async #readReply(response: Response, endpoint: string): Promise<Outcome> {
    const body = await readAll(response.body ?? new ReadableStream(), this.#bodyBytesMax);
    if (body === null) {
      return { type: "failed", detail: `answer from ${endpoint} over ${this.#bodyBytesMax} bytes` };
    }
    return {
      type: "reply",
      reply: { status: response.status, headers: response.headers, body, endpoint },
    };
  }

  #timedOut(): Outcome {
    return { type: "failed", detail: `no answer within ${this.#requestTimeoutMs} ms` };
  }

  /** Tries endpoints from the preferred one on; only a failure to connect moves on. */
  async #open(path: string, init: RequestInit, signal: AbortSignal): Promise<Opened> {
    const errors: string[] = [];
    for (let i = 0; i < this.#endpoints.length; i++) {
      const index = (this.#preferred + i) % this.#endpoints.length;
      const endpoint = this.#endpoints[index];
      try {
        const response = await fetch(`${endpoint}${path}`, {
          method: init.method ?? "GET",
          headers: init.headers,
          body: init.body,
          signal,
          redirect: "follow",
        });
        this.#preferred = index;
        return { type: "stream", response, endpoint };
      } catch (err) {
        if (signal.aborted) throw err;
        // A TypeError is a network failure. Retrying elsewhere is safe: reads are reads, and
        // writes carry an Idempotency-Key, so a write that did land is not applied twice.
        if (!(err instanceof TypeError)) throw err;
        errors.push(`${endpoint}: ${reason(err)}`);
      }
    }
    return { type: "unreachable", detail: `cannot reach any endpoint (${errors.join("; ")})` };
  }
}

/** The useful part of a fetch error: Deno puts the OS reason in `cause`. */
function reason(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } };
  const text = e?.cause?.message ?? e?.message ?? String(err);
  return text.replace(/^error sending request for url \([^)]*\): /, "").replace(
    /^client error \(Connect\): /,
    "",
  );
}
