// Member addresses travel inside the replicated configuration (ConfigState.contexts), so every
// node — including one that learned the configuration from a snapshot — knows how to reach
// every member. nodes.json only bootstraps them.

import { z } from "zod";
import type { ConfigState, NodeId } from "../raft/mod.ts";

export interface MemberAddress {
  client: string;
  peer: string;
  text: string | null;
}

export interface MemberInfo extends MemberAddress {
  id: NodeId;
  voter: boolean;
}

const addressSchema = z.object({
  client: z.string(),
  peer: z.string(),
  text: z.string().nullable(),
});

export function encodeAddress(a: MemberAddress): string {
  return JSON.stringify({ client: a.client, peer: a.peer, text: a.text });
}

export function decodeAddress(context: string | undefined): MemberAddress | null {
  if (context === undefined) return null;
  try {
    const r = addressSchema.safeParse(JSON.parse(context));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** Every member of `config` with its address (from the config, else from `fallback`). */
export function membersOf(
  config: ConfigState,
  fallback: ReadonlyMap<NodeId, MemberAddress>,
): MemberInfo[] {
  const ids = [...config.voters, ...config.learners].sort();
  const out: MemberInfo[] = [];
  for (const id of ids) {
    const address = decodeAddress(config.contexts?.[id]) ?? fallback.get(id);
    if (!address) continue; // unreachable until its address is known
    out.push({ id, ...address, voter: config.voters.includes(id) });
  }
  return out;
}
