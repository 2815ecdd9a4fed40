// Majority arithmetic over the voters of one configuration.

import type { NodeId } from "./types.ts";

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/** The largest value that at least a majority of voters have reached (e.g. the highest
 * index replicated on a majority). Voters without a value count as 0. */
export function quorumValue(voters: readonly NodeId[], valueOf: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const values = voters.map(valueOf).sort((a, b) => b - a);
  return values[majority(voters.length) - 1];
}

export type VoteOutcome = "won" | "lost" | "pending";

/** Tallies votes: won with a majority of grants, lost once a majority can no longer grant. */
export function voteOutcome(
  voters: readonly NodeId[],
  votes: ReadonlyMap<NodeId, boolean>,
): VoteOutcome {
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  const needed = majority(voters.length);
  if (granted >= needed) return "won";
  if (voters.length - rejected < needed) return "lost";
  return "pending";
}
