// list: follows `next` page by page, printing as it goes, until done or --limit is reached.

import { z } from "zod";
import type { Command } from "./args.ts";
import type { Client } from "./client.ts";
import { complain, EXIT, type Io, print } from "./io.ts";
import { expectOk, parseBody } from "./replies.ts";
import { displayText, displayValue } from "./text.ts";

/** Items asked for per request; the state machine allows up to 10,000 per range. */
export const PAGE_ITEMS_MAX = 1000;

const item = z.object({
  key: z.string(),
  value: z.string().optional(),
  valueBase64: z.string().optional(),
  revision: z.number().optional(),
  version: z.number().optional(),
  expiresAt: z.union([z.string(), z.number()]).nullable().optional(),
}).loose();

const page = z.object({
  items: z.array(item),
  next: z.string().nullable().optional(),
  revision: z.number().optional(),
});

export type ListItem = z.infer<typeof item>;

export async function list(
  io: Io,
  client: Client,
  c: Extract<Command, { type: "list" }>,
): Promise<number> {
  let remaining = c.limit ?? Infinity;
  let after: string | null = null;
  while (remaining > 0) {
    const q = new URLSearchParams();
    if (c.prefix !== "") q.set("prefix", c.prefix);
    q.set("limit", String(Math.min(remaining, PAGE_ITEMS_MAX)));
    if (after !== null) q.set("after", after);
    if (c.keysOnly) q.set("keysOnly", "true");
    const { reply, code } = await expectOk(io, await client.request(`/v1/kv?${q}`));
    if (!reply) return code;
    const p = await parseBody(io, reply, page);
    if (!p) return EXIT.failed;
    for (const it of p.items.slice(0, remaining)) await print(io.stdout, line(it, c));
    remaining -= p.items.length;
    const next = p.next ?? null;
    if (next === null) break;
    // A cursor that does not move would loop forever: the server is broken, stop.
    if (next === after) {
      await complain(io, `listing did not advance past ${JSON.stringify(next)}`);
      return EXIT.failed;
    }
    after = next;
  }
  return EXIT.ok;
}

function line(it: ListItem, c: { keysOnly: boolean; json: boolean }): string {
  if (c.json) return JSON.stringify(it) + "\n";
  if (c.keysOnly) return displayText(it.key) + "\n";
  return `${displayText(it.key)}\t${displayValue(it)}\n`;
}
