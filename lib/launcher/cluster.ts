// `main.ts cluster` (API.md §2): every node of a cluster file as a child process, their
// output prefixed with the node id, stop signals forwarded, stragglers killed.

import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ClusterArgs,
  type ClusterConfig,
  generateCluster,
  loadClusterConfig,
  parseClusterArgs,
} from "../config/mod.ts";
import {
  linePrefixes,
  type OnStopSignal,
  processStopSignals,
  readLines,
  type StopSignal,
  type Write,
  writeToConsole,
} from "./output.ts";

/** What one child is started with. */
export interface ChildSpec {
  id: string;
  /** Absolute path of the cluster file every child reads. */
  configPath: string;
  dataDir: string;
  /** Further node flags (`--redirect`, `--text-forward`). */
  flags: string[];
}

export interface ChildCommand {
  program: string;
  args: string[];
}

export interface ClusterDeps {
  /** How to start one node; the default runs main.ts under this same deno. */
  childCommand: (spec: ChildSpec) => ChildCommand;
  write: Write;
  onStopSignal: OnStopSignal;
  /** Time children get to exit after the forwarded signal before they are SIGKILLed. */
  stopGraceMs: number;
  /** Peer secret for a generated (--nodes) cluster. */
  randomSecret: () => string;
}

export const MAIN_PATH = fileURLToPath(new URL("../../main.ts", import.meta.url));

export function defaultChildCommand(spec: ChildSpec): ChildCommand {
  return {
    program: Deno.execPath(),
    args: [
      "run",
      "-A",
      MAIN_PATH,
      "--id",
      spec.id,
      "--config",
      spec.configPath,
      "--data",
      spec.dataDir,
      ...spec.flags,
    ],
  };
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export const defaultClusterDeps: ClusterDeps = {
  childCommand: defaultChildCommand,
  write: writeToConsole,
  onStopSignal: processStopSignals,
  stopGraceMs: 5000,
  randomSecret,
};

/**
 * Runs the launcher until its children are gone; resolves to the process exit code:
 * 0 after a clean stop, 1 if a child had to be killed, none could start or all exited
 * on their own, 2 for bad flags or a bad cluster file.
 */
export async function runCluster(
  argv: readonly string[],
  overrides: Partial<ClusterDeps> = {},
): Promise<number> {
  const deps: ClusterDeps = { ...defaultClusterDeps, ...overrides };
  const parsed = parseClusterArgs(argv);
  switch (parsed.type) {
    case "help":
      deps.write("stdout", `${parsed.text}\n`);
      return 0;
    case "error":
      deps.write("stderr", `raftkv: ${parsed.message}\n`);
      return 2;
    case "ok":
      break;
    default:
      return assertNever(parsed);
  }
  const prepared = await prepareConfig(parsed.options, deps);
  if (prepared.type === "error") {
    deps.write("stderr", `raftkv: ${prepared.message}\n`);
    return prepared.code;
  }
  printBanner(prepared.config, prepared.configPath, parsed.options.dataDir, deps.write);
  const { dataDir, nodeFlags } = parsed.options;
  return await supervise(prepared.config, prepared.configPath, dataDir, nodeFlags, deps);
}

type Prepared =
  | { type: "ok"; config: ClusterConfig; configPath: string }
  | { type: "error"; message: string; code: number };

/** Loads the file, or generates one and writes it where the children will read it. */
async function prepareConfig(args: ClusterArgs, deps: ClusterDeps): Promise<Prepared> {
  if (args.nodes === null) {
    const loaded = await loadClusterConfig(args.configPath);
    if (loaded.type === "error") return { ...loaded, code: 2 };
    return { type: "ok", config: loaded.config, configPath: resolve(args.configPath) };
  }
  const config = generateCluster(args.nodes, deps.randomSecret());
  const configPath = resolve(args.dataDir, "nodes.json");
  try {
    await Deno.mkdir(args.dataDir, { recursive: true });
    await Deno.writeTextFile(configPath, `${JSON.stringify(config, null, 2)}\n`);
  } catch (err) {
    return { type: "error", message: `cannot write ${configPath}: ${errorText(err)}`, code: 1 };
  }
  return { type: "ok", config, configPath };
}

function printBanner(config: ClusterConfig, configPath: string, dataDir: string, write: Write) {
  const width = Math.max(...config.nodes.map((node) => node.id.length));
  const rows = config.nodes.map((node) => {
    const text = node.text === undefined ? "" : `  text ${node.text}`;
    return `  ${node.id.padEnd(width)}  ${node.client}${text}\n`;
  });
  write(
    "stdout",
    `raftkv: cluster "${config.cluster}", ${config.nodes.length} node(s), ` +
      `config ${configPath}, data in ${dataDir}\n${rows.join("")}` +
      `raftkv: Ctrl-C (SIGINT) or SIGTERM stops every node\n`,
  );
}

interface Running {
  id: string;
  proc: Deno.ChildProcess;
  exited: boolean;
  /** Settles after the exit status and the last line of output. */
  done: Promise<void>;
}

async function supervise(
  config: ClusterConfig,
  configPath: string,
  dataRoot: string,
  nodeFlags: string[],
  deps: ClusterDeps,
): Promise<number> {
  const prefixes = linePrefixes(config.nodes.map((node) => node.id));
  const running: Running[] = [];
  let stopping: StopSignal | null = null;
  let forced = false;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;

  const alive = () => running.filter((child) => !child.exited);
  const forceKill = (reason: string) => {
    for (const child of alive()) {
      forced = true;
      deps.write("stderr", `${prefixes.get(child.id)}${reason}; sending SIGKILL\n`);
      signalChild(child, "SIGKILL");
    }
  };
  const requestStop = (signal: StopSignal) => {
    if (stopping !== null) return forceKill(`${signal} again`);
    stopping = signal;
    deps.write("stderr", `raftkv: ${signal}: stopping ${alive().length} node(s)\n`);
    for (const child of alive()) signalChild(child, signal);
    graceTimer = setTimeout(
      () => forceKill(`still running ${deps.stopGraceMs} ms after ${signal}`),
      deps.stopGraceMs,
    );
  };

  // Subscribe before spawning (which is synchronous), so no signal finds children we
  // do not know about yet.
  const unsubscribe = deps.onStopSignal(requestStop);
  let spawnFailed = false;
  for (const node of config.nodes) {
    const spec = { id: node.id, configPath, dataDir: join(dataRoot, node.id), flags: nodeFlags };
    const prefix = prefixes.get(node.id) ?? "";
    try {
      running.push(spawnChild(spec, prefix, deps));
    } catch (err) {
      deps.write("stderr", `${prefix}cannot start: ${errorText(err)}\n`);
      spawnFailed = true;
      break;
    }
  }
  if (spawnFailed) requestStop("SIGTERM");

  await Promise.all(running.map((child) => child.done));
  clearTimeout(graceTimer);
  unsubscribe();
  if (spawnFailed) return 1;
  if (stopping === null) {
    deps.write("stderr", "raftkv: every node has exited\n");
    return 1;
  }
  deps.write("stderr", forced ? "raftkv: stopped (some nodes killed)\n" : "raftkv: stopped\n");
  return forced ? 1 : 0;
}

function spawnChild(spec: ChildSpec, prefix: string, deps: ClusterDeps): Running {
  const { program, args } = deps.childCommand(spec);
  const proc = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const child: Running = { id: spec.id, proc, exited: false, done: Promise.resolve() };
  const pump = (stream: "stdout" | "stderr") =>
    readLines(proc[stream], (line) => deps.write(stream, `${prefix}${line}\n`));
  // The exit is reported after the child's last lines, so logs read in order.
  child.done = Promise.all([proc.status, pump("stdout"), pump("stderr")]).then(([status]) => {
    child.exited = true;
    const signal = status.signal === null ? "" : ` (${status.signal})`;
    deps.write("stderr", `${prefix}exited with code ${status.code}${signal}\n`);
  });
  // `exited` must flip as soon as the process is gone, even if its pipes linger (a
  // grandchild holding them), so a stop is not sent to a dead pid.
  proc.status.then(() => child.exited = true);
  return child;
}

function signalChild(child: Running, signal: Deno.Signal) {
  try {
    child.proc.kill(signal);
  } catch {
    // It exited between our check and the kill: nothing left to stop.
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ");
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
