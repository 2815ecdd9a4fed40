// watch: one line per change, resumed with Last-Event-ID after a disconnect, until Ctrl-C.

import { z } from "zod";
import type { Command } from "./args.ts";
import type { Client, Reply } from "./client.ts";
import { complain, EXIT, type Io, print, realSleep } from "./io.ts";
import { reportProblem } from "./replies.ts";
import { parseSse, type SseEvent } from "./sse.ts";
import { displayText, displayValue } from "./text.ts";

/** Consecutive failed connection attempts before giving up (about 35 s of backoff). */
export const WATCH_ATTEMPTS_MAX = 20;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 2000;

const eventData = z.object({
  type: z.string(),
  key: z.string(),
  value: z.string().optional(),
  valueBase64: z.string().optional(),
  revision: z.number(),
  version: z.number().optional(),
});

const WATCHED = new Set(["put", "delete", "expire"]);

interface Cursor {
  /** The last event ID received: sent as Last-Event-ID to resume after it. */
  lastEventId: string | null;
  /** The highest revision printed: anything older is a replay after a resume. */
  revision: number;
  /** Keys printed at `revision`: a transaction's writes all share one revision. */
  keysAtRevision: Set<string>;
}

/** How one connection went. */
type Attempt =
  | { type: "delivered" }
  | { type: "retry"; reason: string }
  | { type: "exit"; code: number };

export async function watch(
  io: Io,
  client: Client,
  c: Extract<Command, { type: "watch" }>,
): Promise<number> {
  const sleep = io.sleep ?? realSleep;
  const cursor: Cursor = {
    lastEventId: null,
    revision: c.fromRevision ?? 0,
    keysAtRevision: new Set(),
  };
  let failures = 0;
  while (!io.signal.aborted) {
    const attempt = await connectOnce(io, client, c, cursor);
    switch (attempt.type) {
      case "exit":
        return attempt.code;
      case "delivered":
        // A stream that delivered events was healthy: resume at once.
        failures = 0;
        continue;
      case "retry":
        // Back off, so a server that accepts and hangs up at once is not hammered. Only the
        // first failure of a streak is reported, and the last.
        failures++;
        if (failures === 1) await complain(io, `watch: ${attempt.reason}; retrying`);
        if (failures >= WATCH_ATTEMPTS_MAX) {
          await complain(
            io,
            `watch: giving up after ${failures} failed attempts (${attempt.reason})`,
          );
          return EXIT.unreachable;
        }
        await sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (failures - 1)), io.signal);
    }
  }
  return EXIT.ok;
}

async function connectOnce(
  io: Io,
  client: Client,
  c: { prefix: string; fromRevision?: number },
  cursor: Cursor,
): Promise<Attempt> {
  const q = new URLSearchParams();
  if (c.prefix !== "") q.set("prefix", c.prefix);
  if (cursor.lastEventId === null && c.fromRevision !== undefined) {
    q.set("fromRevision", String(c.fromRevision));
  }
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (cursor.lastEventId !== null) headers["last-event-id"] = cursor.lastEventId;
  const opened = await client.stream(`/v1/watch${q.size > 0 ? `?${q}` : ""}`, headers);
  switch (opened.type) {
    case "interrupted":
      return { type: "exit", code: EXIT.ok };
    case "unreachable":
    case "failed":
      return { type: "retry", reason: opened.detail };
    case "reply":
      return await refused(io, opened.reply);
    case "stream":
      return await consume(io, opened.response, opened.endpoint, cursor);
  }
}

/** A non-2xx answer: overload and leaderless moments pass, anything else is final. */
async function refused(io: Io, reply: Reply): Promise<Attempt> {
  if (reply.status === 502 || reply.status === 503 || reply.status === 504) {
    return { type: "retry", reason: `${reply.endpoint} answered HTTP ${reply.status}` };
  }
  return { type: "exit", code: await reportProblem(io, reply) };
}

async function consume(
  io: Io,
  response: Response,
  endpoint: string,
  cursor: Cursor,
): Promise<Attempt> {
  const body = response.body;
  if (body === null) return { type: "retry", reason: `${endpoint} sent no stream` };
  const events = parseSse(body);
  let printed = 0;
  let ended = `${endpoint} ended the stream`;
  try {
    for (;;) {
      let next: IteratorResult<SseEvent>;
      try {
        next = await events.next();
      } catch (err) {
        // The connection broke (or Ctrl-C aborted it): the caller resumes or stops.
        ended = `stream from ${endpoint} broke: ${(err as Error).message}`;
        break;
      }
      if (next.done) break;
      if (next.value.id !== null) cursor.lastEventId = next.value.id;
      // Failing to write our own output (a closed pipe) is not the server's fault: it throws.
      if (await printEvent(io, next.value, cursor)) printed++;
    }
  } finally {
    await events.return(undefined).catch(() => {});
    await body.cancel().catch(() => {});
  }
  if (io.signal.aborted) return { type: "exit", code: EXIT.ok };
  return printed > 0 ? { type: "delivered" } : { type: "retry", reason: ended };
}

async function printEvent(io: Io, ev: SseEvent, cursor: Cursor): Promise<boolean> {
  if (!WATCHED.has(ev.event)) return false; // other event kinds: not ours to show
  let data;
  try {
    data = eventData.parse(JSON.parse(ev.data));
  } catch {
    await complain(io, `watch: skipping a malformed ${ev.event} event: ${ev.data.slice(0, 200)}`);
    return false;
  }
  if (isReplay(cursor, data.revision, data.key)) return false;
  const value = data.type === "put" ? ` ${displayValue(data)}` : "";
  await print(io.stdout, `${data.revision} ${data.type} ${displayText(data.key)}${value}\n`);
  return true;
}

/** True for an event already printed; otherwise records it in the cursor. */
function isReplay(cursor: Cursor, revision: number, key: string): boolean {
  if (revision < cursor.revision) return true;
  if (revision > cursor.revision) {
    cursor.revision = revision;
    cursor.keysAtRevision.clear();
  }
  if (cursor.keysAtRevision.has(key)) return true;
  cursor.keysAtRevision.add(key);
  return false;
}
