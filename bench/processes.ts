// Child processes of a bench cluster (raftkv nodes or etcd members), one per id: spawned
// with their output kept in a short ring for failure reports, and killed by recorded PID
// (never by name: the box is shared).

import { readLines } from "../lib/launcher/mod.ts";
import { freePorts } from "../test/ports.ts";
export { freePorts };

/** Output lines kept per process for a failure report. */
const OUTPUT_LINES_MAX = 200;

interface Child {
  pid: number;
  exit: Promise<Deno.CommandStatus>;
  pumps: Promise<void>;
}

export class ProcessGroup {
  private readonly children = new Map<string, Child>();
  private readonly output = new Map<string, string[]>();

  constructor(private readonly ids: readonly string[]) {
    for (const id of ids) this.output.set(id, []);
  }

  /** Starts `command args` as process `id`; throws if it cannot be spawned. */
  spawn(id: string, command: string, args: string[], env: Record<string, string> = {}): void {
    if (this.children.has(id)) throw new Error(`${id} is already running`);
    const proc = new Deno.Command(command, {
      args,
      env,
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

  /** PIDs of the processes running now, by id. */
  pids(): Map<string, number> {
    return new Map([...this.children].map(([id, child]) => [id, child.pid]));
  }

  /** Sends `signal` to process `id` by PID; resolves once it has exited. */
  async kill(id: string, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const child = this.children.get(id);
    if (child === undefined) throw new Error(`${id} is not running`);
    signalChild(child, signal);
    await child.exit;
    await child.pumps;
  }

  /** Synchronous SIGKILL of every child, for a signal handler that must exit at once. */
  killAllNow(): void {
    for (const child of this.children.values()) signalChild(child, "SIGKILL");
  }

  /** Kills every child and waits for their exits. Idempotent. */
  async killAll(): Promise<void> {
    const children = [...this.children.values()];
    for (const child of children) signalChild(child, "SIGKILL");
    await Promise.all(children.map(async (child) => {
      await child.exit;
      await child.pumps;
    }));
  }

  /** Each process's recent output, for an error report. */
  dump(): string {
    return this.ids
      .map((id) => `===== ${id} =====\n${(this.output.get(id) ?? []).join("\n")}`)
      .join("\n");
  }

  private keep(id: string, line: string): void {
    const lines = this.output.get(id);
    if (lines === undefined) return;
    lines.push(line);
    if (lines.length > OUTPUT_LINES_MAX) lines.splice(0, lines.length - OUTPUT_LINES_MAX);
  }
}

function signalChild(child: Child, signal: Deno.Signal): void {
  try {
    Deno.kill(child.pid, signal);
  } catch {
    // already gone: its exit promise settles on its own
  }
}

/** A removal that tolerates a file still held open for a moment by a dying child. */
export async function removeDir(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

export function removeDirNow(dir: string): void {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // the OS temp cleaner gets the rest
  }
}

/** A bench cluster's processes in a temp dir: what the raftkv and etcd clusters share. */
export abstract class ChildCluster {
  protected readonly processes: ProcessGroup;

  constructor(readonly dir: string, ids: readonly string[]) {
    this.processes = new ProcessGroup(ids);
  }

  abstract startNode(id: string): void;

  /** PIDs of the nodes running now, by id. */
  pids(): Map<string, number> {
    return this.processes.pids();
  }

  /** SIGKILLs node `id` by PID; resolves once it has exited. */
  killNode(id: string): Promise<void> {
    return this.processes.kill(id);
  }

  /**
   * Synchronous kill of every child by PID, for a signal handler that must exit at once.
   * The temp dir is removed too, best effort.
   */
  killAllNow(): void {
    this.processes.killAllNow();
    removeDirNow(this.dir);
  }

  /** Kills every node, waits for their exits, removes the temp dir. Idempotent. */
  async close(): Promise<void> {
    await this.processes.killAll();
    await removeDir(this.dir);
  }

  /** Each node's recent output, for an error report. */
  dump(): string {
    return this.processes.dump();
  }
}
