// Watch clients for real-process tests, written as a user's program would be: an SSE reader
// that resumes after a cut with Last-Event-ID on the next node it can reach, and a
// WebSocket reader. Both record every event they get and how often their stream was cut.

import { parseSse } from "../../lib/cli/sse.ts";
import { delay } from "./harness.ts";

export interface SeenEvent {
  /** The SSE id ("R" or "R.k"); null over WebSocket, which has none. */
  id: string | null;
  type: string;
  key: string;
  value: string | undefined;
  revision: number;
  /** The node whose stream carried it. */
  via: string;
}

interface EventData {
  type: string;
  key: string;
  value?: string;
  revision: number;
}

/** Server-Sent Events from `/v1/watch?prefix=P&fromRevision=R`, resuming after any cut. */
export class SseWatcher {
  readonly events: SeenEvent[] = [];
  /** Streams that ended or broke before stop(): each was resumed elsewhere. */
  cuts = 0;
  /** Streams opened (200 and the head read). */
  opens = 0;
  /** Refusals and the server's `error` events (e.g. 410), which a resume cannot fix. */
  readonly errors: string[] = [];
  private lastId: string | null = null;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;

  /**
   * @param nodes the base URLs to use, best first, asked again at each (re)connect
   * @param fromRevision where the first stream starts; a resume sends Last-Event-ID instead
   */
  constructor(
    private readonly nodes: () => string[],
    private readonly prefix: string,
    private readonly fromRevision: number,
  ) {
    this.loop = this.run();
  }

  get lastRevision(): number {
    return this.events.at(-1)?.revision ?? 0;
  }

  private async run(): Promise<void> {
    for (let attempt = 0; !this.abort.signal.aborted; attempt++) {
      const candidates = this.nodes();
      const base = candidates[attempt % Math.max(1, candidates.length)];
      if (base !== undefined) {
        try {
          await this.follow(base);
        } catch {
          // refused or reset: try the next node
        }
        if (this.abort.signal.aborted) return;
        this.cuts++;
      }
      await delay(50);
    }
  }

  /** One stream from `base` until it ends. */
  private async follow(base: string): Promise<void> {
    const query = new URLSearchParams({ prefix: this.prefix });
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (this.lastId === null) query.set("fromRevision", String(this.fromRevision));
    else headers["last-event-id"] = this.lastId;
    const response = await fetch(`${base}/v1/watch?${query}`, {
      headers,
      signal: this.abort.signal,
    });
    if (response.status !== 200 || response.body === null) {
      this.errors.push(`${base}: HTTP ${response.status} ${await response.text()}`);
      return;
    }
    this.opens++;
    for await (const event of parseSse(response.body)) {
      if (event.event === "error") {
        this.errors.push(`${base}: ${event.data}`);
        continue;
      }
      const data = JSON.parse(event.data) as EventData;
      this.lastId = event.id;
      this.events.push({
        id: event.id,
        type: data.type,
        key: data.key,
        value: data.value,
        revision: data.revision,
        via: base,
      });
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}

/** One WebSocket watch; it records a close that stop() did not ask for as a cut. */
export class WebSocketWatcher {
  readonly events: SeenEvent[] = [];
  readonly errors: string[] = [];
  cuts = 0;
  readonly opened: Promise<void>;
  private readonly socket: WebSocket;
  private stopping = false;
  private readonly closed: Promise<void>;

  constructor(base: string, prefix: string, fromRevision: number) {
    const query = new URLSearchParams({ prefix, fromRevision: String(fromRevision) });
    this.socket = new WebSocket(`${base.replace(/^http/, "ws")}/v1/watch?${query}`);
    this.opened = new Promise((resolve, reject) => {
      this.socket.onopen = () => resolve();
      this.socket.onerror = () => reject(new Error(`WebSocket watch on ${base} failed`));
    });
    this.closed = new Promise((resolve) => {
      this.socket.onclose = () => {
        if (!this.stopping) this.cuts++;
        resolve();
      };
    });
    this.socket.onmessage = (message) => {
      const data = JSON.parse(String(message.data)) as EventData;
      if (data.type === "error") {
        this.errors.push(String(message.data));
        return;
      }
      this.events.push({
        id: null,
        type: data.type,
        key: data.key,
        value: data.value,
        revision: data.revision,
        via: base,
      });
    };
  }

  get lastRevision(): number {
    return this.events.at(-1)?.revision ?? 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.socket.close();
    await this.closed;
  }
}
