// A local etcd cluster for `--target etcd` / `--compare` (etcd 3.4: Debian's etcd-server):
// N members with a static initial cluster, client and peer URLs on free 127.0.0.1 ports,
// data dirs in a temp dir, killed by recorded PID. A member restarted on its data dir
// rejoins (etcd ignores the --initial-* flags once the data dir holds a member).

import { join } from "node:path";
import { ChildCluster, freePorts } from "./processes.ts";
import { clusterConfigSchema } from "../lib/config/mod.ts";
import type { Tuning } from "./local_cluster.ts";

/** etcd's own defaults (etcd 3.4): heartbeat 100 ms, election timeout 1000 ms. */
export const ETCD_HEARTBEAT_MS = 100;
export const ETCD_ELECTION_TIMEOUT_MS = 1000;

/** raftkv's own timing defaults, read from its cluster-file schema. */
const RAFTKV_DEFAULTS = clusterConfigSchema.parse({
  cluster: "defaults",
  secret: "defaults-only",
  nodes: [{ id: "n1", client: "http://127.0.0.1:1", peer: "ws://127.0.0.1:2" }],
});

export interface EtcdMember {
  id: string;
  client: string;
  peer: string;
  dataDir: string;
}

export interface EtcdTiming {
  heartbeatMs: number;
  electionTimeoutMs: number;
}

/**
 * raftkv's knobs in etcd's terms, so "the same settings" means the same timing: etcd's
 * tick is its heartbeat interval, raftkv heartbeats every tick (heartbeatTicks 1), and both
 * randomize the election timeout in [n, 2n) ticks. With neither knob given, etcd keeps its
 * own defaults; with one, the other takes raftkv's default (as the raftkv cluster does).
 */
export function etcdTiming(tuning: Tuning): EtcdTiming {
  if (tuning.tickMs === null && tuning.electionTicks === null) {
    return { heartbeatMs: ETCD_HEARTBEAT_MS, electionTimeoutMs: ETCD_ELECTION_TIMEOUT_MS };
  }
  const heartbeatMs = tuning.tickMs ?? RAFTKV_DEFAULTS.tickMs;
  const electionTicks = tuning.electionTicks ?? RAFTKV_DEFAULTS.electionTicks;
  return { heartbeatMs, electionTimeoutMs: electionTicks * heartbeatMs };
}

/** The etcd command line of one member. */
export function etcdArgs(
  member: EtcdMember,
  members: readonly EtcdMember[],
  token: string,
  timing: EtcdTiming,
): string[] {
  return [
    `--name=${member.id}`,
    `--data-dir=${member.dataDir}`,
    `--listen-client-urls=${member.client}`,
    `--advertise-client-urls=${member.client}`,
    `--listen-peer-urls=${member.peer}`,
    `--initial-advertise-peer-urls=${member.peer}`,
    `--initial-cluster=${members.map((m) => `${m.id}=${m.peer}`).join(",")}`,
    "--initial-cluster-state=new",
    `--initial-cluster-token=${token}`,
    `--heartbeat-interval=${timing.heartbeatMs}`,
    `--election-timeout=${timing.electionTimeoutMs}`,
    "--logger=zap",
    "--log-level=warn",
  ];
}

export class LocalEtcdCluster extends ChildCluster {
  readonly system = "etcd";

  private constructor(
    dir: string,
    readonly nodes: readonly EtcdMember[],
    readonly etcdTiming: EtcdTiming,
    private readonly token: string,
    private readonly binary: string,
  ) {
    super(dir, nodes.map((node) => node.id));
  }

  /** Starts every member (without waiting for a leader). `binary` is the etcd executable. */
  static async start(count: number, tuning: Tuning, binary = "etcd"): Promise<LocalEtcdCluster> {
    const dir = await Deno.makeTempDir({ prefix: "raftkv_bench_etcd_" });
    const ports = freePorts(2 * count);
    const nodes = Array.from({ length: count }, (_, i) => ({
      id: `e${i + 1}`,
      client: `http://127.0.0.1:${ports[2 * i]}`,
      peer: `http://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: join(dir, `e${i + 1}`),
    }));
    const token = `bench-${crypto.randomUUID()}`;
    const cluster = new LocalEtcdCluster(dir, nodes, etcdTiming(tuning), token, binary);
    try {
      for (const node of nodes) cluster.startNode(node.id);
    } catch (err) {
      await cluster.close();
      if (err instanceof Deno.errors.NotFound) {
        throw new Error(`no "${binary}" executable (apt-get install -y etcd-server)`);
      }
      throw err;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.nodes.map((node) => node.client);
  }

  get timing(): { tickMs: number; electionTicks: number } {
    const { heartbeatMs, electionTimeoutMs } = this.etcdTiming;
    return { tickMs: heartbeatMs, electionTicks: electionTimeoutMs / heartbeatMs };
  }

  startNode(id: string): void {
    const member = this.nodes.find((m) => m.id === id);
    if (member === undefined) throw new Error(`no member ${id} in the bench etcd cluster`);
    const args = etcdArgs(member, this.nodes, this.token, this.etcdTiming);
    this.processes.spawn(id, this.binary, args);
  }
}
