// The part of `GET /v1/status` (API.md §3) the benchmark needs, and waiting for a leader
// every endpoint agrees on. Polls with deadlines; nothing here is on the hot path.

import { z } from "zod";

const statusSchema = z.object({
  id: z.string(),
  role: z.string(),
  term: z.number(),
  leader: z.object({ id: z.string(), client: z.string() }).nullable(),
  commitIndex: z.number(),
  appliedIndex: z.number(),
});

export type NodeStatus = z.output<typeof statusSchema>;

/** How long one status request may take before the node counts as unreachable. */
const STATUS_TIMEOUT_MS = 1000;
const POLL_MS = 50;

/** The node's status, or null if it is unreachable, slow, or answers something else. */
export async function fetchStatus(endpoint: string): Promise<NodeStatus | null> {
  try {
    const response = await fetch(`${endpoint}/v1/status`, {
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    const body: unknown = await response.json();
    if (!response.ok) return null;
    const parsed = statusSchema.safeParse(body);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export interface Leader {
  id: string;
  client: string;
  term: number;
}

/**
 * The leader all of `endpoints` name right now (the leader itself agreeing), or null.
 * With `requireAll` false, endpoints that do not answer are left out (a degraded cluster
 * can still be measured); one that answers without a leader still means "no leader".
 */
export async function agreedLeader(
  endpoints: readonly string[],
  requireAll = true,
): Promise<Leader | null> {
  const statuses = await Promise.all(endpoints.map(fetchStatus));
  let leader: Leader | null = null;
  for (const status of statuses) {
    if (status === null && !requireAll) continue;
    if (status === null || status.leader === null) return null;
    if (leader === null) leader = { ...status.leader, term: status.term };
    if (status.leader.id !== leader.id || status.term !== leader.term) return null;
  }
  if (leader === null) return null;
  const own = statuses.find((status) => status?.id === leader.id);
  // The leader must confirm itself; when it is not among the endpoints given, only a
  // lenient caller takes the others' word for it.
  if (own === undefined) return requireAll ? null : leader;
  return own?.role === "leader" ? leader : null;
}

/** How a system answers "who leads, per all of these endpoints?" (raftkv: agreedLeader). */
export type LeaderProbe = (
  endpoints: readonly string[],
  requireAll: boolean,
) => Promise<Leader | null>;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Waits until every endpoint (every one that answers, unless `requireAll`) has named the
 * same leader in the same term for `stableMs`, so a benchmark does not start in the
 * middle of an election. Throws after `timeoutMs`.
 */
export async function waitForStableLeader(
  probe: LeaderProbe,
  endpoints: readonly string[],
  timeoutMs: number,
  stableMs = 500,
  requireAll = true,
): Promise<Leader> {
  const deadline = performance.now() + timeoutMs;
  let since = 0;
  let seen: Leader | null = null;
  while (performance.now() < deadline) {
    const leader = await probe(endpoints, requireAll);
    const now = performance.now();
    if (leader === null || seen === null || leader.id !== seen.id || leader.term !== seen.term) {
      seen = leader;
      since = now;
    } else if (now - since >= stableMs) {
      return leader;
    }
    await delay(POLL_MS);
  }
  throw new Error(
    `no stable leader among ${endpoints.join(", ")} within ${timeoutMs} ms` +
      (seen === null ? "" : ` (last seen ${seen.id}, term ${seen.term})`),
  );
}
