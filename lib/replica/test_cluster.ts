// For tests: replicas over the in-memory storage and network, with fast ticks and real
// timers, wired the way main.ts wires real ones (addresses in the bootstrap configuration,
// the transport's peers following it).

import type { KvLimits } from "../kv/mod.ts";
import { MemoryStorage, type RaftStorage } from "../storage/mod.ts";
import type { MemoryNetwork, MemoryTransport, Transport } from "../transport/mod.ts";
import { Replica } from "./replica.ts";

export interface TestReplicaOptions {
  /** The bootstrap voters, and the transport's peers (default: the ids being opened). */
  voters?: string[];
  /** Default 10,000. */
  snapshotEntries?: number;
  /** Default 3 s. */
  requestTimeoutMs?: number;
  kvLimits?: Partial<KvLimits>;
  /** A fake wall clock for expiry (Raft ticks stay real). */
  now?: () => number;
  /** Text-protocol addresses ("host:port") by id, for the replicated configuration. */
  textAddresses?: Record<string, string>;
  /** The storage for `id` (default: a fresh MemoryStorage). */
  storage?: (id: string) => RaftStorage;
  /** What the replica sends through (default: the memory transport itself). */
  wrapTransport?: (transport: MemoryTransport) => Transport;
  /** false: opened but not started (default true). */
  start?: boolean;
}

export interface TestReplica {
  replica: Replica;
  transport: MemoryTransport;
}

/** Opens (and by default starts) one replica on `net`. */
export async function openTestReplica(
  net: MemoryNetwork,
  id: string,
  o: TestReplicaOptions = {},
): Promise<TestReplica> {
  const voters = o.voters ?? [id];
  const transport = net.transport(id);
  transport.setPeers(voters.filter((p) => p !== id).map((p) => ({ id: p, peer: `mem://${p}` })));
  await transport.start();
  const replica = await Replica.open({
    id,
    voters,
    addresses: new Map(voters.map((p) => [p, {
      client: `http://${p}`,
      peer: `mem://${p}`,
      text: o.textAddresses?.[p] ?? null,
    }])),
    tickMs: 5,
    electionTicks: 10,
    heartbeatTicks: 1,
    snapshotEntries: o.snapshotEntries ?? 10_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 3000,
    kvLimits: o.kvLimits ?? {},
  }, {
    storage: o.storage?.(id) ?? new MemoryStorage(),
    transport: o.wrapTransport?.(transport) ?? transport,
    log: () => {},
    now: o.now,
  });
  if (o.start !== false) replica.start();
  return { replica, transport };
}

/** Opens `ids` on `net`, all voters of one cluster unless `o.voters` says otherwise. */
export async function openTestReplicas(
  net: MemoryNetwork,
  ids: string[],
  o: TestReplicaOptions = {},
): Promise<TestReplica[]> {
  const out: TestReplica[] = [];
  for (const id of ids) out.push(await openTestReplica(net, id, { voters: ids, ...o }));
  return out;
}

/** The leader every replica in `replicas` agrees on, within `timeoutMs`. */
export async function waitForLeader(
  replicas: Iterable<Replica>,
  timeoutMs = 10_000,
): Promise<Replica> {
  const all = [...replicas];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const leader = all.find((r) => r.node.role === "leader");
    if (leader && all.every((r) => r.node.leader === leader.id)) return leader;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no leader within ${timeoutMs / 1000} s`);
}
