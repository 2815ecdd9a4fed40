// etcd's side of leader finding, over its v3 JSON gateway: POST /v3/maintenance/status on
// each member names the member itself (header.member_id) and the leader it follows
// (`leader`, omitted while there is none: the gateway leaves out zero values). Member ids
// are uint64s, kept as the decimal strings the gateway sends.

import { z } from "zod";
import type { Leader } from "./status.ts";

const statusSchema = z.object({
  header: z.object({ member_id: z.string() }),
  leader: z.string().optional(),
  raftTerm: z.string().optional(),
});

export interface EtcdStatus {
  memberId: string;
  /** The leader's member id, or null while there is none. */
  leader: string | null;
  term: number;
}

const STATUS_TIMEOUT_MS = 1000;

/** A decoded status body, or null if it is not one. */
export function parseEtcdStatus(body: unknown): EtcdStatus | null {
  const parsed = statusSchema.safeParse(body);
  if (!parsed.success) return null;
  const { header, leader, raftTerm } = parsed.data;
  const term = Number(raftTerm ?? "0");
  if (!Number.isSafeInteger(term)) return null;
  return {
    memberId: header.member_id,
    leader: leader === undefined || leader === "0" ? null : leader,
    term,
  };
}

export async function fetchEtcdStatus(endpoint: string): Promise<EtcdStatus | null> {
  try {
    const response = await fetch(`${endpoint}/v3/maintenance/status`, {
      method: "POST",
      body: "{}",
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
    const body: unknown = await response.json();
    return response.ok ? parseEtcdStatus(body) : null;
  } catch {
    return null;
  }
}

/**
 * The leader all statuses name in the same term, confirmed by the leader's own status
 * (which also gives its client URL), or null. `statuses[i]` came from `endpoints[i]`;
 * with `requireAll` false, members that did not answer are left out. Unlike raftkv's
 * status, etcd's does not carry the leader's URL, so the leader must be among `endpoints`.
 */
export function agreeOnEtcdLeader(
  endpoints: readonly string[],
  statuses: readonly (EtcdStatus | null)[],
  requireAll: boolean,
): Leader | null {
  let leader: Leader | null = null;
  for (const status of statuses) {
    if (status === null && !requireAll) continue;
    if (status === null || status.leader === null) return null;
    if (leader === null) leader = { id: status.leader, client: "", term: status.term };
    if (status.leader !== leader.id || status.term !== leader.term) return null;
  }
  if (leader === null) return null;
  const own = statuses.findIndex((status) => status?.memberId === leader.id);
  return own < 0 ? null : { ...leader, client: endpoints[own] };
}

export async function etcdAgreedLeader(
  endpoints: readonly string[],
  requireAll: boolean,
): Promise<Leader | null> {
  const statuses = await Promise.all(endpoints.map(fetchEtcdStatus));
  return agreeOnEtcdLeader(endpoints, statuses, requireAll);
}
