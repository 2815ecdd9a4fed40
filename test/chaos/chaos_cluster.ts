// A real raftkv cluster for chaos runs: the cluster harness's processes (test/cluster/harness.ts)
// with one cluster file per node, in which every other node's peer address is a fault proxy
// (network.ts). Adds what the nemesis needs on top of kill/restart: SIGSTOP/SIGCONT, finding
// the leader quickly while some nodes are frozen, and healing everything.
//
// Compaction is on (every 1,000 applied entries), so a follower that was killed, paused or cut
// off usually catches up by InstallSnapshot through its proxy. That works because each node's
// own cluster file wins over the peer addresses a snapshot's configuration carries
// (lib/replica/members.ts): a node that installs the leader's snapshot still dials its proxies.

import { join } from "node:path";
import {
  Cluster,
  delay,
  freePorts,
  type NodeSpec,
  TEST_TUNING,
  type Tuning,
} from "../cluster/harness.ts";
import type { Status } from "../cluster/kv_client.ts";
import { freshConnectionClient } from "./http.ts";
import { PeerNetwork } from "./network.ts";

export interface ChaosClusterOptions {
  nodes: number;
  random: () => number;
  tuning?: Tuning;
}

export const CHAOS_TUNING: Tuning = {
  ...TEST_TUNING,
  requestTimeoutMs: 2000,
  snapshotEntries: 1_000,
};

export class ChaosCluster {
  /** Nodes frozen with SIGSTOP. */
  private readonly paused = new Set<string>();
  /** For the workload's requests: one fresh connection each (http.ts). */
  readonly http = freshConnectionClient();

  private constructor(
    readonly cluster: Cluster,
    readonly network: PeerNetwork,
    private readonly configPaths: ReadonlyMap<string, string>,
  ) {}

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const dir = await Deno.makeTempDir({ prefix: "raftkv_chaos_" });
    const ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    const ports = freePorts(2 * ids.length);
    const specs: NodeSpec[] = ids.map((id, i) => ({
      id,
      client: `http://127.0.0.1:${ports[2 * i]}`,
      peer: `ws://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: join(dir, "data", id),
    }));
    const network = new PeerNetwork(ids, (id) => ports[2 * ids.indexOf(id) + 1], options.random);
    const base = {
      cluster: `chaos-${ports[0]}`,
      secret: crypto.randomUUID(),
      ...CHAOS_TUNING,
      ...options.tuning,
    };
    const configPaths = new Map<string, string>();
    for (const self of specs) {
      const nodes = specs.map(({ id, client, peer }) => ({
        id,
        client,
        peer: id === self.id ? peer : network.peerUrl(self.id, id),
      }));
      const path = join(dir, `nodes.${self.id}.json`);
      await Deno.writeTextFile(path, JSON.stringify({ ...base, nodes }, null, 2));
      configPaths.set(self.id, path);
    }
    const cluster = new Cluster(dir, configPaths.get(ids[0])!, base, specs);
    const chaos = new ChaosCluster(cluster, network, configPaths);
    for (const id of ids) chaos.startNode(id);
    return chaos;
  }

  get ids(): string[] {
    return this.cluster.ids;
  }

  /** Node `id`'s client URL. */
  endpoint(id: string): string {
    return this.cluster.spec(id).client;
  }

  startNode(id: string): void {
    this.cluster.start(id, { configPath: this.configPaths.get(id) });
  }

  isRunning(id: string): boolean {
    return this.cluster.pid(id) !== null;
  }

  isPaused(id: string): boolean {
    return this.paused.has(id);
  }

  /** kill -9 by recorded PID; waits for the exit. */
  async kill(id: string): Promise<void> {
    this.paused.delete(id);
    if (!this.isRunning(id)) return;
    await this.cluster.kill(id, "SIGKILL");
  }

  pause(id: string): void {
    const pid = this.cluster.pid(id);
    if (pid === null) return; // it exited by itself: the run reports that as a crash
    Deno.kill(pid, "SIGSTOP");
    this.paused.add(id);
  }

  resume(id: string): void {
    const pid = this.cluster.pid(id);
    if (pid !== null) Deno.kill(pid, "SIGCONT");
    this.paused.delete(id);
  }

  /** Every link passes, every frozen node runs again, every dead node is restarted. */
  healAll(): void {
    this.network.heal();
    for (const id of [...this.paused]) this.resume(id);
    for (const id of this.ids) if (!this.isRunning(id)) this.startNode(id);
  }

  /** Statuses of running, unfrozen nodes that answered within `timeoutMs`. */
  async statuses(timeoutMs = 500): Promise<Map<string, Status>> {
    const ids = this.ids.filter((id) => this.isRunning(id) && !this.isPaused(id));
    const results = await Promise.all(ids.map(async (id) => {
      try {
        return [id, await this.cluster.client(id).status(timeoutMs)] as const;
      } catch {
        return null;
      }
    }));
    return new Map(results.filter((r) => r !== null));
  }

  /** The node that says it leads with the highest term, polling up to `timeoutMs`; or null. */
  async findLeader(timeoutMs = 3000): Promise<string | null> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      let best: { id: string; term: number } | null = null;
      for (const [id, status] of await this.statuses()) {
        if (status.role === "leader" && (best === null || status.term > best.term)) {
          best = { id, term: status.term };
        }
      }
      if (best !== null) return best.id;
      if (performance.now() > deadline) return null;
      await delay(50);
    }
  }

  async close(): Promise<void> {
    for (const id of [...this.paused]) this.resume(id);
    await this.cluster.close();
    await this.network.close();
    this.http.close();
  }
}
