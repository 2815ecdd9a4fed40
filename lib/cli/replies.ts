// From HTTP outcomes to what the user sees: a value, or one stderr line and an exit code.

import { z } from "zod";
import type { Outcome, Reply } from "./client.ts";
import { complain, EXIT, type Io } from "./io.ts";
import { decodeUtf8 } from "./text.ts";

const problemSchema = z.object({
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  currentRevision: z.number().nullable().optional(),
});

/** The 2xx reply, or null after reporting why there is none (the exit code is in `code`). */
export async function expectOk(
  io: Io,
  outcome: Outcome,
): Promise<{ reply: Reply; code?: never } | { reply: null; code: number }> {
  switch (outcome.type) {
    case "reply":
      if (outcome.reply.status >= 200 && outcome.reply.status < 300) {
        return { reply: outcome.reply };
      }
      return { reply: null, code: await reportProblem(io, outcome.reply) };
    case "unreachable":
      await complain(io, outcome.detail);
      return { reply: null, code: EXIT.unreachable };
    case "failed":
      await complain(io, outcome.detail);
      return { reply: null, code: EXIT.failed };
    case "interrupted":
      return { reply: null, code: EXIT.interrupted };
  }
}

/** Prints the problem+json `detail` (or the status line) of an error reply; exit 1. */
export async function reportProblem(io: Io, reply: Reply): Promise<number> {
  await complain(io, problemMessage(reply));
  return EXIT.failed;
}

export function problemMessage(reply: Reply): string {
  const fallback = `${reply.endpoint} answered HTTP ${reply.status}`;
  const text = decodeUtf8(reply.body);
  if (text === null) return fallback;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fallback;
  }
  const p = problemSchema.safeParse(json);
  if (!p.success || p.data.detail === undefined) return fallback;
  const current = p.data.currentRevision;
  return current === undefined || current === null
    ? p.data.detail
    : `${p.data.detail} (current revision ${current})`;
}

/** A JSON success body checked against its schema; a mismatch is the server's fault (exit 1). */
export async function parseBody<T>(
  io: Io,
  reply: Reply,
  schema: z.ZodType<T>,
): Promise<T | null> {
  const text = decodeUtf8(reply.body);
  let json: unknown = undefined;
  try {
    json = text === null ? undefined : JSON.parse(text);
  } catch {
    // reported below
  }
  const r = schema.safeParse(json);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  await complain(
    io,
    `unexpected answer from ${reply.endpoint}: ${
      issue?.path.join(".") || "body"
    }: ${issue?.message}`,
  );
  return null;
}
