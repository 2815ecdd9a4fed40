// The benchmark's own 3-node cluster: a nodes.json on free loopback ports in a temp dir,
// one `deno run main.ts --id ...` child per node, killed by recorded PID (never by name),
// each node's recent output kept for when something goes wrong.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClusterConfig, clusterConfigSchema } from "../lib/config/mod.ts";
import { readLines } from "../lib/launcher/mod.ts";

const MAIN_PATH = fileURLToPath(new URL("../main.ts", import.meta.url));
/** Output lines kept per node for a failure report. */
const OUTPUT_LINES_MAX = 200;

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

interface Child {
  pid: number;
  exit: Promise<Deno.CommandStatus>;
  pumps: Promise<void>;
}

export class LocalCluster {
  private readonly children = new Map<string, Child>();
  private readonly output = new Map<string, string[]>();

  private constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly nodes: readonly LocalNode[],
    /** The cluster file as the nodes read it, defaults filled in. */
    readonly config: ClusterConfig,
  ) {
    for (const node of nodes) this.output.set(node.id, []);
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
      await Deno.remove(dir, { recursive: true });
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

  node(id: string): LocalNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id} in the bench cluster`);
    return node;
  }

  /** PIDs of the nodes running now, by id. */
  pids(): Map<string, number> {
    return new Map([...this.children].map(([id, child]) => [id, child.pid]));
  }

  startNode(id: string): void {
    if (this.children.has(id)) throw new Error(`${id} is already running`);
    const node = this.node(id);
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN_PATH,
        "--id",
        id,
        "--config",
        this.configPath,
        "--data",
        node.dataDir,
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const keep = (line: string) => this.keep(id, line);
    const pumps = Promise.all([readLines(proc.stdout, keep), readLines(proc.stderr, keep)])
      .then(() => {}, () => {});
    const child: Child = { pid: proc.pid, exit: proc.status, pumps };
    this.children.set(id, child);
    child.exit.then((status) => {
      keep(`--- pid ${child.pid} exited: code ${status.code} signal ${status.signal} ---`);
      if (this.children.get(id) === child) this.children.delete(id);
    });
  }

  /** SIGKILLs node `id` by PID; resolves once it has exited. */
  async killNode(id: string): Promise<void> {
    const child = this.children.get(id);
    if (child === undefined) throw new Error(`${id} is not running`);
    this.signal(child, "SIGKILL");
    await child.exit;
    await child.pumps;
  }

  /**
   * Synchronous kill of every child by PID, for a signal handler that must exit at once.
   * The temp dir is removed too, best effort.
   */
  killAllNow(): void {
    for (const child of this.children.values()) this.signal(child, "SIGKILL");
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch {
      // a child may still hold a file open for a moment; the OS temp cleaner gets the rest
    }
  }

  /** Kills every node, waits for their exits, removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    const children = [...this.children.values()];
    for (const child of children) this.signal(child, "SIGKILL");
    await Promise.all(children.map(async (child) => {
      await child.exit;
      await child.pumps;
    }));
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** Each node's recent output, for an error report. */
  dump(): string {
    return this.nodes
      .map((node) => `===== ${node.id} =====\n${(this.output.get(node.id) ?? []).join("\n")}`)
      .join("\n");
  }

  private keep(id: string, line: string): void {
    const lines = this.output.get(id);
    if (lines === undefined) return;
    lines.push(line);
    if (lines.length > OUTPUT_LINES_MAX) lines.splice(0, lines.length - OUTPUT_LINES_MAX);
  }

  private signal(child: Child, signal: Deno.Signal): void {
    try {
      Deno.kill(child.pid, signal);
    } catch {
      // already gone: its exit promise settles on its own
    }
  }
}

/** `count` distinct free loopback ports: all are held open until each is chosen. */
function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
