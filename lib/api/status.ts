// The /v1/status body (API.md §3 "Shapes"): this node's view plus every member.

import type { NodeId } from "../raft/mod.ts";
import type { Replica } from "../replica/replica.ts";
import type { PeerStatus } from "../transport/mod.ts";
import type { MemberInfo } from "../replica/members.ts";

export function statusBody(
  replica: Replica,
  members: MemberInfo[],
  peers: Map<NodeId, PeerStatus>,
) {
  const st = replica.status();
  const leader = members.find((m) => m.id === st.leader);
  const ids = [
    ...new Set([...st.config.voters, ...st.config.learners, ...members.map((m) => m.id)]),
  ]
    .sort();
  return {
    id: st.id,
    // Pre-vote is an internal detail: API.md knows leader|follower|candidate|learner.
    role: st.role === "preCandidate" ? "candidate" : st.role,
    term: st.term,
    leader: leader ? { id: leader.id, client: leader.client } : null,
    commitIndex: st.commitIndex,
    appliedIndex: replica.sm.appliedIndex,
    lastLogIndex: st.lastIndex,
    snapshotIndex: st.snapshotIndex,
    revision: replica.sm.revision,
    members: ids.map((id) => {
      const m = members.find((x) => x.id === id);
      const self = id === st.id;
      const peer = peers.get(id);
      return {
        id,
        client: m?.client ?? null,
        peer: m?.peer ?? null,
        voter: st.config.voters.includes(id),
        matchIndex: st.progress?.get(id)?.matchIndex ?? (self ? st.lastIndex : null),
        connected: self ? true : peer?.connected ?? null,
        lastContactMs: self ? 0 : roundOrNull(peer?.lastContactMs),
      };
    }),
  };
}

function roundOrNull(ms: number | null | undefined): number | null {
  return ms === null || ms === undefined ? null : Math.round(ms);
}
