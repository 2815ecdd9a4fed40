// Moving a watch subscription's events onto the wire: SSE (hono's streamSSE) or WebSocket.
// Both read from the hub only as fast as the client takes them: the SSE stream's writes wait
// for the connection, and a WebSocket's buffered bytes are capped. A client too slow for the
// hub's history window is ended by the hub; it then gets an error event and the stream ends.

import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { KvEvent, WatchEnd, WatchItem, WatchSubscription } from "../kv/mod.ts";
import { valueFields } from "./route_support.ts";

export interface StreamOptions {
  /** SSE comment sent on an idle stream, so proxies keep it and dead clients show. */
  keepAliveMs: number;
  /** Events taken from the hub and written at once. */
  batchEvents: number;
  /** A WebSocket with more unsent bytes than this is not given more until it drains. */
  socketBufferedBytesMax: number;
  /** How often a full WebSocket's buffer is looked at (it has no drain event). */
  drainPollMs: number;
}

/** The event as JSON (API.md §3): {"type","key","value"|"valueBase64","revision","version"}. */
export type EventJson =
  & { type: KvEvent["type"]; key: string }
  & ({ value: string } | { valueBase64: string } | Record<never, never>)
  & { revision: number; version: number };

export function eventJson(e: KvEvent): EventJson {
  switch (e.type) {
    case "put":
      return {
        type: e.type,
        key: e.key,
        ...valueFields(e.value),
        revision: e.revision,
        version: e.version,
      };
    case "delete":
    case "expire":
      return { type: e.type, key: e.key, revision: e.revision, version: e.version };
  }
}

// Every watcher of an event sends the same text: encode it once (events are immutable and
// leave the hub's window eventually, and with it this cache).
const jsonCache = new WeakMap<KvEvent, string>();

function eventText(e: KvEvent): string {
  let text = jsonCache.get(e);
  if (text === undefined) {
    text = JSON.stringify(eventJson(e));
    jsonCache.set(e, text);
  }
  return text;
}

/** What a watcher is told when its subscription ends, as the `error` event's data. */
export function endJson(end: WatchEnd): Record<string, unknown> {
  switch (end.type) {
    case "lost":
      return {
        type: "error",
        status: 410,
        title: "Gone",
        reason: end.reason,
        detail: end.reason === "behind"
          ? "the watch fell behind this node's change history; read the current state, then watch again from its revision + 1"
          : "this node installed a snapshot from the leader, so events before it are unknown here; read the current state, then watch again from its revision + 1",
        oldestRevision: end.oldestRevision,
      };
    case "closed":
      return {
        type: "error",
        status: 503,
        title: "Service Unavailable",
        detail: "the node is stopping; resume with Last-Event-ID (on another node)",
      };
  }
}

function sseMessage(item: WatchItem): string {
  return `id: ${item.id}\nevent: ${item.event.type}\ndata: ${eventText(item.event)}\n\n`;
}

/** Resolves when the subscription has more to read or has ended, or `abort` is called. */
function ready(sub: WatchSubscription, abort: { wake: (() => void) | null }): Promise<void> {
  return new Promise<void>((resolve) => {
    abort.wake = resolve;
    sub.onReady(resolve);
  });
}

export function pumpSse(c: Context, sub: WatchSubscription, o: StreamOptions): Response {
  return streamSSE(c, async (stream) => {
    const abort = { wake: null as (() => void) | null };
    stream.onAbort(() => {
      sub.close();
      abort.wake?.();
    });
    let writing = false;
    const keepAlive = setInterval(() => {
      if (!writing) void stream.write(": keep-alive\n\n");
    }, o.keepAliveMs);
    try {
      // The head goes out at once, so a client knows the watch is in place before any event.
      await stream.write(": watching\n\n");
      while (!stream.aborted) {
        const items = sub.take(o.batchEvents);
        if (items.length > 0) {
          writing = true;
          await stream.write(items.map(sseMessage).join(""));
          writing = false;
          continue;
        }
        const end = sub.ended;
        if (end !== null) {
          if (!stream.aborted) {
            await stream.write(`event: error\ndata: ${JSON.stringify(endJson(end))}\n\n`);
          }
          break;
        }
        await ready(sub, abort);
      }
    } finally {
      clearInterval(keepAlive);
      sub.close();
    }
  });
}

/** Close codes: 4410 the watch's history is gone (see the error message), 1001 stopping. */
export const WS_CLOSE_GONE = 4410;
export const WS_CLOSE_GOING_AWAY = 1001;

export function pumpWebSocket(socket: WebSocket, sub: WatchSubscription, o: StreamOptions): void {
  const abort = { wake: null as (() => void) | null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = () => socket.readyState === WebSocket.OPEN;
  const drained = () =>
    new Promise<void>((resolve) => {
      abort.wake = resolve;
      timer = setTimeout(resolve, o.drainPollMs);
    });

  async function pump(): Promise<void> {
    while (open()) {
      if (socket.bufferedAmount > o.socketBufferedBytesMax) {
        await drained();
        continue;
      }
      const items = sub.take(o.batchEvents);
      if (items.length > 0) {
        for (const item of items) socket.send(eventText(item.event));
        continue;
      }
      const end = sub.ended;
      if (end !== null) {
        if (!open()) break;
        socket.send(JSON.stringify(endJson(end)));
        const code = end.type === "lost" ? WS_CLOSE_GONE : WS_CLOSE_GOING_AWAY;
        socket.close(code, end.type === "lost" ? "watch history gone" : "node stopping");
        break;
      }
      await ready(sub, abort);
    }
  }

  socket.onopen = () => {
    pump().catch(() => {}).finally(() => sub.close());
  };
  socket.onclose = () => {
    clearTimeout(timer);
    sub.close();
    abort.wake?.();
  };
  // Messages from the client are not part of the protocol: ignored.
  socket.onmessage = () => {};
  socket.onerror = () => {};
}
