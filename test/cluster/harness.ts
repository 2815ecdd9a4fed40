// Real raftkv processes for cluster tests: free loopback ports, a nodes.json in a temp dir,
// one `deno run main.ts --id ...` child per node, each node's output in a ring buffer
// (printed when a test fails), kill/restart by recorded PID, and polling helpers with
// deadlines instead of sleeps. Every test file starts its own cluster, so files can run
// in parallel with each other and with the rest of `deno task test`.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readLines } from "../../lib/launcher/mod.ts";
import { ContractError, KvClient, type Status } from "./kv_client.ts";
import { freePorts } from "../ports.ts";
export { freePorts };

export const MAIN_PATH = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** Optional tuning fields of nodes.json (lib/config/schema.ts). */
export interface Tuning {
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  snapshotEntries?: number;
  maxValueBytes?: number;
  maxKeyBytes?: number;
  requestTimeoutMs?: number;
}

/** Fast but not twitchy: elections after 250-500 ms of silence, heartbeats every 25 ms. */
export const TEST_TUNING: Tuning = { tickMs: 25, electionTicks: 10, heartbeatTicks: 1 };

export interface ClusterOptions {
  nodes?: number;
  tuning?: Tuning;
  /** Start every node at once (default true); false leaves that to the test. */
  autoStart?: boolean;
}

export interface NodeSpec {
  id: string;
  /** "http://127.0.0.1:port" */
  client: string;
  /** "ws://127.0.0.1:port" */
  peer: string;
  dataDir: string;
}

export interface StartOverrides {
  /** Another cluster file (e.g. one with a different secret). */
  configPath?: string;
  /** Extra node flags, e.g. ["--join"]. */
  args?: string[];
}

interface Running {
  pid: number;
  child: Deno.ChildProcess;
  exit: Promise<Deno.CommandStatus>;
  pumps: Promise<void>;
  /** Set before we signal it, so its exit is not reported as a crash. */
  stopping: boolean;
}

/** Lines kept per node; older ones are dropped (a line count, not bytes). */
const RING_LINES_MAX = 3000;
const POLL_MS = 25;

export class Cluster {
  readonly nodes: Map<string, NodeSpec>;
  /** Exits nobody asked for: "n2 exited with code 70" (a crash under test). */
  readonly crashes: string[] = [];
  /** Responses that broke the documented contract while the harness was polling. */
  readonly contractViolations: string[] = [];
  private readonly running = new Map<string, Running>();
  /** The last exit of each node that has exited, with its output fully read. */
  private readonly exited = new Map<string, Promise<Deno.CommandStatus>>();
  /** Per node: the last RING_LINES_MAX lines, and how many lines came before them. */
  private readonly logs = new Map<string, { lines: string[]; dropped: number }>();
  private readonly http = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  /** Sees every line of every node's output as it arrives (the ring keeps only the last ones). */
  onLine: ((id: string, line: string) => void) | null = null;

  constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly config: Record<string, unknown>,
    specs: NodeSpec[],
  ) {
    this.nodes = new Map(specs.map((spec) => [spec.id, spec]));
    for (const spec of specs) this.logs.set(spec.id, { lines: [], dropped: 0 });
  }

  get ids(): string[] {
    return [...this.nodes.keys()];
  }

  /** Ids of the processes we started and have not seen exit. */
  liveIds(): string[] {
    return this.ids.filter((id) => this.running.has(id));
  }

  spec(id: string): NodeSpec {
    const spec = this.nodes.get(id);
    if (spec === undefined) throw new Error(`no node ${id}`);
    return spec;
  }

  pid(id: string): number | null {
    return this.running.get(id)?.pid ?? null;
  }

  client(id: string): KvClient {
    return new KvClient(this.spec(id).client, this.http);
  }

  /** Spawns node `id` with its data dir; output goes to its ring buffer. */
  start(id: string, overrides: StartOverrides = {}): void {
    if (this.running.has(id)) throw new Error(`${id} is already running`);
    const spec = this.spec(id);
    const configPath = overrides.configPath ?? this.configPath;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN_PATH,
        "--id",
        id,
        "--config",
        configPath,
        "--data",
        spec.dataDir,
        ...(overrides.args ?? []),
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.note(id, `--- started pid ${child.pid} (config ${configPath}) ---`);
    const pumps = Promise.all([
      readLines(child.stdout, (line) => this.note(id, line)),
      readLines(child.stderr, (line) => this.note(id, line)),
    ]).then(() => {});
    const record: Running = { pid: child.pid, child, exit: child.status, pumps, stopping: false };
    this.running.set(id, record);
    this.exited.delete(id);
    record.exit.then((status) => {
      this.exited.set(id, record.pumps.then(() => status));
      this.note(
        id,
        `--- pid ${record.pid} exited: code ${status.code} signal ${status.signal} ---`,
      );
      if (this.running.get(id) === record) this.running.delete(id);
      if (!record.stopping) {
        this.crashes.push(`${id} (pid ${record.pid}) exited with code ${status.code}`);
      }
    });
  }

  /** Sends `signal` to node `id` by PID and waits for it to exit (SIGKILL after 15 s). */
  async kill(id: string, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<Deno.CommandStatus> {
    const record = this.running.get(id);
    if (record === undefined) throw new Error(`${id} is not running`);
    record.stopping = true;
    signalPid(record.pid, signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (signal !== "SIGKILL") timer = setTimeout(() => signalPid(record.pid, "SIGKILL"), 15_000);
    try {
      const status = await record.exit;
      await record.pumps;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for `id` to exit by itself (no signal) and returns how it ended. */
  async waitForExit(id: string, timeoutMs = 10_000): Promise<Deno.CommandStatus> {
    const exit = await waitFor(`${id} to exit`, timeoutMs, () => {
      return Promise.resolve(this.running.has(id) ? null : this.exited.get(id) ?? null);
    });
    return await exit;
  }

  /** Stops `id` if it runs (SIGTERM), then starts it again with the same data dir. */
  async restart(id: string, overrides: StartOverrides = {}): Promise<void> {
    if (this.running.has(id)) await this.kill(id, "SIGTERM");
    this.start(id, overrides);
  }

  /** Every live node, at once; waits until each has exited. */
  async stopAll(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<Deno.CommandStatus[]> {
    return await Promise.all(this.liveIds().map((id) => this.kill(id, signal)));
  }

  /** Kills everything, closes the HTTP client and removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    await this.stopAll("SIGKILL");
    try {
      this.http.close();
    } catch {
      // already closed
    }
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  /** A cluster file like the real one with some top-level fields replaced. */
  async writeConfigVariant(name: string, patch: Record<string, unknown>): Promise<string> {
    const path = join(this.dir, name);
    await Deno.writeTextFile(path, JSON.stringify({ ...this.config, ...patch }, null, 2));
    return path;
  }

  /** `id`'s status, or null if it cannot be had; undocumented shapes are recorded. */
  async tryStatus(id: string): Promise<Status | null> {
    try {
      return await this.client(id).status();
    } catch (err) {
      if (err instanceof ContractError) this.contractViolations.push(`${id}: ${err.message}`);
      return null;
    }
  }

  /**
   * Polls until every node in `among` (default: the live ones) names the same leader, that
   * leader is among them, and it reports itself leader. Returns its id and every status.
   */
  async waitForLeader(
    timeoutMs = 10_000,
    among?: string[],
  ): Promise<{ leader: string; term: number; statuses: Map<string, Status> }> {
    return await waitFor(`one leader among ${among ?? "the live nodes"}`, timeoutMs, async () => {
      const ids = among ?? this.liveIds();
      const statuses = new Map<string, Status>();
      for (const id of ids) {
        const status = await this.tryStatus(id);
        if (status === null) return null;
        statuses.set(id, status);
      }
      const leader = statuses.get(ids[0])?.leader?.id;
      if (leader === undefined || !statuses.has(leader)) return null;
      if (statuses.get(leader)!.role !== "leader") return null;
      for (const status of statuses.values()) if (status.leader?.id !== leader) return null;
      return { leader, term: statuses.get(leader)!.term, statuses };
    });
  }

  /** The node's output so far (at most RING_LINES_MAX lines). */
  output(id: string): string[] {
    return [...this.ring(id).lines];
  }

  /** A position in `id`'s output: lines from here on are "new" to waitForLog. */
  logMark(id: string): number {
    const ring = this.ring(id);
    return ring.dropped + ring.lines.length;
  }

  /** Polls `id`'s output (from `since`, a logMark) for a line matching `pattern`. */
  async waitForLog(id: string, pattern: RegExp, timeoutMs = 10_000, since = 0): Promise<string> {
    return await waitFor(`${id} to log ${pattern}`, timeoutMs, () => {
      const ring = this.ring(id);
      const from = Math.max(0, since - ring.dropped);
      return Promise.resolve(ring.lines.slice(from).find((line) => pattern.test(line)) ?? null);
    });
  }

  /** Every node's output, for a failed test's report. */
  dump(): string {
    return this.ids.map((id) => `===== ${id} =====\n${this.output(id).join("\n")}`).join("\n");
  }

  private ring(id: string): { lines: string[]; dropped: number } {
    const ring = this.logs.get(id);
    if (ring === undefined) throw new Error(`no node ${id}`);
    return ring;
  }

  private note(id: string, line: string): void {
    this.onLine?.(id, line);
    const ring = this.ring(id);
    ring.lines.push(line);
    const excess = ring.lines.length - RING_LINES_MAX;
    if (excess > 0) {
      ring.lines.splice(0, excess);
      ring.dropped += excess;
    }
  }
}

function signalPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // already gone: its exit promise settles on its own
  }
}

/**
 * Polls `probe` every POLL_MS until it returns a value other than null; a throw counts as
 * "not yet". Past the deadline, fails naming `what` and the last error seen.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | null>,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError = "";
  while (true) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (performance.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}. ${lastError}`);
    }
    await delay(POLL_MS);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Writes a cluster file for `nodes` nodes and starts them all (no waiting for a leader). */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 3;
  const dir = await Deno.makeTempDir({ prefix: "raftkv_cluster_test_" });
  const ports = freePorts(2 * count);
  const specs: NodeSpec[] = Array.from({ length: count }, (_, i) => ({
    id: `n${i + 1}`,
    client: `http://127.0.0.1:${ports[2 * i]}`,
    peer: `ws://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: join(dir, "data", `n${i + 1}`),
  }));
  const config = {
    cluster: `test-${randomHex(4)}`,
    secret: randomHex(16),
    ...TEST_TUNING,
    ...options.tuning,
    nodes: specs.map(({ id, client, peer }) => ({ id, client, peer })),
  };
  const configPath = join(dir, "nodes.json");
  await Deno.writeTextFile(configPath, JSON.stringify(config, null, 2));
  const cluster = new Cluster(dir, configPath, config, specs);
  if (options.autoStart ?? true) { for (const spec of specs) cluster.start(spec.id); }
  return cluster;
}

/**
 * Runs `body` against a fresh cluster and always cleans up. On failure every node's output
 * is printed; on success the harness's own contract observations must be empty too.
 */
export async function withCluster(
  options: ClusterOptions,
  body: (cluster: Cluster) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster(options);
  try {
    await body(cluster);
    if (cluster.crashes.length > 0) {
      throw new Error(`nodes exited unasked:\n${cluster.crashes.join("\n")}`);
    }
    if (cluster.contractViolations.length > 0) {
      throw new Error(`contract violations seen:\n${cluster.contractViolations.join("\n")}`);
    }
  } catch (err) {
    console.error(`cluster output (${cluster.dir}):\n${cluster.dump()}`);
    throw err;
  } finally {
    await cluster.close();
  }
}
