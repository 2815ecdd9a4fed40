// The benchmark's own 3-node cluster: a nodes.json on free loopback ports in a temp dir,
// one `deno run main.ts --id ...` child per node, killed by recorded PID (never by name),
// each node's recent output kept for when something goes wrong.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClusterConfig, clusterConfigSchema } from "../lib/config/mod.ts";
import { ChildCluster, freePorts, removeDir } from "./processes.ts";

const MAIN_PATH = fileURLToPath(new URL("../main.ts", import.meta.url));

export interface LocalNode {
  id: string;
  client: string;
  peer: string;
  dataDir: string;
}

export interface Tuning {
  tickMs: number | null;
  electionTicks: number | null;
}

export class LocalCluster extends ChildCluster {
  readonly system = "raftkv";

  private constructor(
    dir: string,
    readonly configPath: string,
    readonly nodes: readonly LocalNode[],
    /** The cluster file as the nodes read it, defaults filled in. */
    readonly config: ClusterConfig,
  ) {
    super(dir, nodes.map((node) => node.id));
  }

  /** Writes the cluster file and starts every node (without waiting for a leader). */
  static async start(count: number, tuning: Tuning): Promise<LocalCluster> {
    const dir = await Deno.makeTempDir({ prefix: "raftkv_bench_" });
    const ports = freePorts(2 * count);
    const nodes = Array.from({ length: count }, (_, i) => ({
      id: `n${i + 1}`,
      client: `http://127.0.0.1:${ports[2 * i]}`,
      peer: `ws://127.0.0.1:${ports[2 * i + 1]}`,
      dataDir: join(dir, `n${i + 1}`),
    }));
    const config = {
      cluster: "bench",
      secret: randomHex(16),
      ...(tuning.tickMs === null ? {} : { tickMs: tuning.tickMs }),
      ...(tuning.electionTicks === null ? {} : { electionTicks: tuning.electionTicks }),
      nodes: nodes.map(({ id, client, peer }) => ({ id, client, peer })),
    };
    const parsed = clusterConfigSchema.safeParse(config);
    if (!parsed.success) {
      await removeDir(dir);
      throw new Error(`bench cluster file: ${parsed.error.issues[0]?.message}`);
    }
    const configPath = join(dir, "nodes.json");
    await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2));
    const cluster = new LocalCluster(dir, configPath, nodes, parsed.data);
    try {
      for (const node of nodes) cluster.startNode(node.id);
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.nodes.map((node) => node.client);
  }

  /** Raft timing as the failover report shows it. */
  get timing(): { tickMs: number; electionTicks: number } {
    return { tickMs: this.config.tickMs, electionTicks: this.config.electionTicks };
  }

  node(id: string): LocalNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id} in the bench cluster`);
    return node;
  }

  startNode(id: string): void {
    const node = this.node(id);
    const args = ["run", "-A", MAIN_PATH, "--id", id, "--config", this.configPath];
    this.processes.spawn(id, Deno.execPath(), [...args, "--data", node.dataDir], {
      NO_COLOR: "1",
    });
  }
}

function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
