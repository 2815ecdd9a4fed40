// Member addresses travel inside the replicated configuration (ConfigState.contexts), so every
// node — including one that learned the configuration from a snapshot — knows how to reach
// members that joined after it started. But the configuration carries the addresses as the node
// that wrote it saw them (a snapshot carries the leader's view), so for every id that this node's
// own cluster file lists, the cluster file wins: it is this node's view of the network (a proxy,
// a NAT'd address, a private interface), like etcd's per-member --initial-cluster. The replicated
// address is used only for ids the cluster file does not know.

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

/** Every member of `config` with its address: from `local` (this node's cluster file) when it
 * lists the id, else from the replicated configuration. */
export function membersOf(
  config: ConfigState,
  local: ReadonlyMap<NodeId, MemberAddress>,
): MemberInfo[] {
  const ids = [...config.voters, ...config.learners].sort();
  const out: MemberInfo[] = [];
  for (const id of ids) {
    const address = local.get(id) ?? decodeAddress(config.contexts?.[id]);
    if (!address) continue; // unreachable until its address is known
    out.push({ id, ...address, voter: config.voters.includes(id) });
  }
  return out;
}
