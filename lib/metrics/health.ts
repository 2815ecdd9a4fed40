// GET /v1/health: 200 when this node can serve, else 503 with every reason it cannot
// (problem+json `detail` joins them; `reasons` lists them).

import type { Hono } from "hono";
import { problem } from "../api/problem.ts";
import { majority, type NodeId, type RaftStatus } from "../raft/mod.ts";
import type { Replica } from "../replica/replica.ts";
import type { PeerStatus } from "../transport/mod.ts";

export interface HealthLimits {
  /** Applied index lag behind commitIndex beyond which the node is unhealthy. */
  lagMax: number;
  /** Silence from a peer (ms) beyond which it counts as lost; null: only the link state
   * counts. Two maximal election timeouts is a fair choice. */
  contactMaxMs: number | null;
}

export interface HealthInput {
  status: RaftStatus;
  appliedIndex: number;
  peers: ReadonlyMap<NodeId, PeerStatus>;
}

export const DEFAULT_LAG_MAX = 10_000;

/** Why this node should not take traffic; empty when healthy. */
export function healthReasons(input: HealthInput, limits: HealthLimits): string[] {
  const { status: st, peers } = input;
  const reasons: string[] = [];
  const role = st.role === "preCandidate" ? "candidate" : st.role;
  if (st.leader === null) {
    reasons.push(`no leader is known (this node is a ${role} in term ${st.term})`);
  } else if (st.leader !== st.id) {
    const link = peers.get(st.leader);
    if (!link?.connected) {
      reasons.push(`no link to the leader ${st.leader}`);
    } else if (silent(link, limits)) {
      reasons.push(
        `nothing heard from the leader ${st.leader} for ${Math.round(link.lastContactMs ?? 0)} ms`,
      );
    }
  } else {
    const voters = st.config.voters;
    const reached = voters.filter((id) => {
      const link = peers.get(id);
      return id === st.id || (link?.connected === true && !silent(link, limits));
    }).length;
    const quorum = majority(voters.length);
    if (reached < quorum) {
      reasons.push(`the leader reaches ${reached} of ${voters.length} voters (quorum ${quorum})`);
    }
  }
  const lag = st.commitIndex - input.appliedIndex;
  if (lag > limits.lagMax) reasons.push(`applied index lags commit index by ${lag}`);
  return reasons;
}

function silent(link: PeerStatus, limits: HealthLimits): boolean {
  if (limits.contactMaxMs === null) return false;
  return link.lastContactMs === null || link.lastContactMs > limits.contactMaxMs;
}

export function registerHealthRoute(
  app: Hono,
  replica: Replica,
  peerStatus: () => Map<NodeId, PeerStatus>,
  limits: Partial<HealthLimits> = {},
): void {
  const full: HealthLimits = {
    lagMax: limits.lagMax ?? DEFAULT_LAG_MAX,
    contactMaxMs: limits.contactMaxMs ?? null,
  };
  app.get("/v1/health", (c) => {
    const status = replica.status();
    const input = { status, appliedIndex: replica.sm.appliedIndex, peers: peerStatus() };
    const reasons = healthReasons(input, full);
    const role = status.role === "preCandidate" ? "candidate" : status.role;
    const facts = { role, leader: status.leader, term: status.term };
    if (reasons.length > 0) {
      return problem(503, reasons.join("; "), { reasons, ...facts }, { "retry-after": "1" });
    }
    return c.json({ healthy: true, ...facts });
  });
}
