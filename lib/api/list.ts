// GET /v1/kv?prefix=P&limit=N&after=K&keysOnly=true — a page of keys in UTF-8 byte order.
//
// Pages can be pinned to a revision: a follow-up page that passes `revision=R` (the first
// page's `revision`) is served only if no key of the part still to be listed (prefix, after
// `after`) changed after R — then the page is exactly what a listing at R would show, and the
// whole listing is one consistent snapshot. Otherwise 410 Gone: start again. The changes are
// judged from the watch hub's retained history; a revision older than that is also 410.
// (The state machine keeps no old versions, so "changed" cannot be served, only detected.)

import type { Hono } from "hono";
import { z } from "zod";
import { keyProblem, type RangeItem, type WatchHub } from "../kv/mod.ts";
import { parseQuery } from "./request.ts";
import {
  gone,
  notAppliedInTime,
  problem,
  readReady,
  type RouteDeps,
  valueFields,
} from "./route_support.ts";

/** Items per page when `limit` is absent, and the most a page may ask for. */
export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;
/** Value bytes per page (at least the largest value): a page ends early beyond it. */
export const LIST_PAGE_BYTES_MIN = 4 * 1024 * 1024;

const uint = (field: string) =>
  z.string().regex(/^[0-9]{1,15}$/, `${field}: expected a non-negative integer`).transform(Number);

function keyLike(field: string, maxKeyBytes: number, emptyOk: boolean) {
  return z.string().superRefine((s, ctx) => {
    if (emptyOk && s === "") return;
    const why = keyProblem(s, maxKeyBytes);
    if (why !== null) ctx.addIssue({ code: "custom", message: `${field}: ${why}` });
  });
}

export function listQuery(maxKeyBytes: number) {
  return z.object({
    prefix: keyLike("prefix", maxKeyBytes, true).optional(),
    after: keyLike("after", maxKeyBytes, false).optional(),
    limit: uint("limit").pipe(
      z.number().min(1, "limit: must be at least 1").max(
        LIST_LIMIT_MAX,
        `limit: must be at most ${LIST_LIMIT_MAX}`,
      ),
    ).optional(),
    keysOnly: z.enum(["true", "false", "1", "0", ""], {
      error: () => 'keysOnly: expected "true" or "false"',
    }).transform((v) => v === "true" || v === "1" || v === "").optional(),
    consistency: z.enum(["linearizable", "serializable"], {
      error: () => 'consistency: expected "linearizable" or "serializable"',
    }).optional(),
    minRevision: uint("minRevision").optional(),
    revision: uint("revision").pipe(z.number().min(1, "revision: must be at least 1")).optional(),
  });
}

export type ListQuery = z.output<ReturnType<typeof listQuery>>;

export interface ListItem {
  key: string;
  value?: string;
  valueBase64?: string;
  revision: number;
  version: number;
  expiresAt: string | null;
}

export function registerListRoute(app: Hono, deps: RouteDeps, hub: WatchHub): void {
  const schema = listQuery(deps.maxKeyBytes);
  const pageBytesMax = Math.max(LIST_PAGE_BYTES_MIN, deps.maxValueBytes);
  const { replica } = deps;

  app.get("/v1/kv", async (c) => {
    const parsed = parseQuery(schema, c.req.query());
    if (!parsed.ok) return problem(parsed.status, parsed.detail);
    const q = parsed.value;
    const redirect = deps.redirectIfFollower(c);
    if (redirect) return redirect;
    const notReady = await readReady(replica, q.consistency, q.minRevision);
    if (notReady) return notReady;
    if (q.revision !== undefined) {
      const refused = await checkPinned(deps, hub, q, q.revision);
      if (refused) return refused;
    }
    const prefix = q.prefix ?? "";
    const range = replica.sm.range({
      prefix,
      after: q.after,
      limit: q.limit ?? LIST_LIMIT_DEFAULT,
      keysOnly: q.keysOnly ?? false,
    }, replica.clock());
    const page = capBytes(range.items, range.next, pageBytesMax);
    return c.json(
      {
        items: page.items.map(listItem),
        next: page.next,
        revision: q.revision ?? range.revision,
      },
      200,
      { "x-kv-revision": String(range.revision) },
    );
  });
}

/** Null when the page at the pinned `revision` can be served from the current state. */
async function checkPinned(
  deps: RouteDeps,
  hub: WatchHub,
  q: ListQuery,
  revision: number,
): Promise<Response | null> {
  const { replica } = deps;
  if (replica.sm.appliedIndex < revision) {
    // A linearizable read has seen every revision any node ever reported: R is made up.
    if ((q.consistency ?? "linearizable") === "linearizable") {
      return problem(
        400,
        `revision: ${revision} is ahead of the store's revision ${replica.sm.revision}`,
      );
    }
    if (!await replica.waitApplied(revision)) {
      return notAppliedInTime("revision", revision, replica.sm.appliedIndex);
    }
  }
  const changed = hub.changedSince(revision, q.prefix ?? "", q.after ?? null);
  const currentRevision = replica.sm.revision;
  switch (changed.type) {
    case "unchanged":
      return null;
    case "changed":
      return gone(
        `revision: the listing at revision ${revision} is no longer consistent: key ${
          JSON.stringify(changed.key)
        } changed at revision ${changed.revision}; list again without revision`,
        { currentRevision, changedKey: changed.key, changedRevision: changed.revision },
      );
    case "tooOld":
      return gone(
        `revision: ${revision} is older than this node's change history (oldest revision ${changed.oldestRevision}); list again without revision`,
        { currentRevision, oldestRevision: changed.oldestRevision },
      );
  }
}

/** Ends the page early once its values pass `bytesMax` (always at least one item). */
function capBytes(
  items: RangeItem[],
  next: string | null,
  bytesMax: number,
): { items: RangeItem[]; next: string | null } {
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    bytes += items[i].value?.byteLength ?? 0;
    if (bytes > bytesMax && i > 0) return { items: items.slice(0, i), next: items[i - 1].key };
  }
  return { items, next };
}

function listItem(item: RangeItem): ListItem {
  return {
    key: item.key,
    ...(item.value === null ? {} : valueFields(item.value)),
    revision: item.modRevision,
    version: item.version,
    expiresAt: item.expiresAt === null ? null : new Date(item.expiresAt).toISOString(),
  };
}
