// `main.ts --id ID ...` (API.md §2): one node. Everything is validated before the
// replica is loaded, so a bad flag or file costs one line on stderr and exit code 2.

import {
  loadClusterConfig,
  type NodeOptions,
  parseNodeArgs,
  resolveNodeOptions,
} from "../config/mod.ts";
import {
  type OnStopSignal,
  processStopSignals,
  type StopSignal,
  type Write,
  writeToConsole,
} from "./output.ts";

/** What `startNode` (lib/replica) hands back. */
export interface RunningNode {
  stop(): Promise<void>;
}

export type StartNode = (options: NodeOptions) => Promise<RunningNode>;

export interface NodeDeps {
  /** Loads lib/replica's startNode; called only once the options are valid. */
  loadStartNode: () => Promise<StartNode>;
  write: Write;
  onStopSignal: OnStopSignal;
  /** A stop that takes longer than this ends the process anyway (exit code 1). */
  stopTimeoutMs: number;
}

export const defaultNodeDeps: Omit<NodeDeps, "loadStartNode"> = {
  write: writeToConsole,
  onStopSignal: processStopSignals,
  stopTimeoutMs: 10_000,
};

/**
 * Runs one node until a stop signal; resolves to the exit code: 0 after a clean stop,
 * 1 if the node could not start or stop, 2 for bad flags or a bad cluster file.
 */
export async function runNode(
  argv: readonly string[],
  overrides: Partial<NodeDeps> & Pick<NodeDeps, "loadStartNode">,
): Promise<number> {
  const deps: NodeDeps = { ...defaultNodeDeps, ...overrides };
  const fail = (message: string, code: number) => {
    deps.write("stderr", `raftkv: ${message}\n`);
    return code;
  };
  const parsed = parseNodeArgs(argv);
  switch (parsed.type) {
    case "help":
      deps.write("stdout", `${parsed.text}\n`);
      return 0;
    case "error":
      return fail(parsed.message, 2);
    case "ok":
      break;
    default:
      return assertNever(parsed);
  }
  const loaded = await loadClusterConfig(parsed.options.configPath);
  if (loaded.type === "error") return fail(loaded.message, 2);
  const resolved = resolveNodeOptions(parsed.options, loaded.config);
  if (resolved.type === "error") return fail(resolved.message, 2);
  const { options, warnings } = resolved;
  for (const warning of warnings) deps.write("stderr", `raftkv: warning: ${warning}\n`);

  // Listening before the start, so a signal during it is neither lost nor fatal.
  let signalled: (signal: StopSignal) => void = () => {};
  const stopSignal = new Promise<StopSignal>((resolve) => signalled = resolve);
  const unsubscribe = deps.onStopSignal((signal) => signalled(signal));
  try {
    let node: RunningNode;
    try {
      const startNode = await deps.loadStartNode();
      node = await startNode(options);
    } catch (err) {
      return fail(`cannot start node ${options.id}: ${describe(err, options)}`, 1);
    }
    const signal = await stopSignal;
    deps.write("stderr", `raftkv: ${signal}: stopping node ${options.id}\n`);
    const outcome = await stopWithin(node, deps.stopTimeoutMs);
    if (outcome !== null) return fail(`stopping node ${options.id}: ${outcome}`, 1);
    return 0;
  } finally {
    // Repeated signals (the terminal's Ctrl-C plus the launcher's forward) land here
    // while stopping and are ignored: the first one already started the stop.
    unsubscribe();
  }
}

/** null when the node stopped in time, else what went wrong. */
async function stopWithin(node: RunningNode, timeoutMs: number): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`did not finish within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      node.stop().then(() => null, (err: unknown) => describe(err, null)),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One line; the stack only when asked for with --log-level debug. */
function describe(err: unknown, options: NodeOptions | null): string {
  const text = err instanceof Error ? err.message : String(err);
  if (options?.logLevel === "debug" && err instanceof Error && err.stack !== undefined) {
    return err.stack;
  }
  return text.replace(/\s+/g, " ");
}

function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
