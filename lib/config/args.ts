// Command-line flags of the two commands (API.md §2). `parseArgs` runs strict, so a
// misspelt flag stops the program instead of being silently ignored.

import { join } from "node:path";
import { parseArgs } from "node:util";
import { ID_EXPECTED, ID_PATTERN } from "./schema.ts";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** `main.ts --id ID ...`: one node. */
export interface NodeArgs {
  id: string;
  configPath: string;
  dataDir: string;
  /** Followers answer writes with 307 to the leader instead of forwarding them. */
  redirect: boolean;
  /** Followers forward text-protocol writes to the leader instead of ERR_REDIRECT. */
  textForward: boolean;
  /** Start with no configuration and wait to be added by the cluster (POST /v1/members). */
  join: boolean;
  logLevel: LogLevel;
}

/** `main.ts cluster ...`: every node of a cluster file as child processes. */
export interface ClusterArgs {
  configPath: string;
  /** Root of the per-node data directories (`<dataDir>/<id>`). */
  dataDir: string;
  /** Generate an N-node loopback cluster instead of reading `configPath`; null: read it. */
  nodes: number | null;
  /** Node flags passed to every node (`--redirect`, `--text-forward`). */
  nodeFlags: string[];
}

export type ArgsResult<T> =
  | { type: "ok"; options: T }
  | { type: "help"; text: string }
  | { type: "error"; message: string };

export const DEFAULT_CONFIG_PATH = "nodes.json";
export const DEFAULT_DATA_DIR = "data";
/** Generated clusters stay within one digit of ids and ports (n1..n9, 7001..7009). */
export const GENERATED_NODES_MAX = 9;

export const NODE_USAGE = `usage: deno run -A main.ts --id ID [flags]
  --id ID            this node's id in the cluster file (required)
  --config FILE      cluster file (default ${DEFAULT_CONFIG_PATH})
  --data DIR         data directory (default ${DEFAULT_DATA_DIR}/<id>)
  --redirect         followers answer writes with 307 to the leader instead of forwarding
  --text-forward     followers forward text-protocol writes instead of ERR_REDIRECT
  --join             a new member: wait to be added (POST /v1/members) instead of
                     bootstrapping from the cluster file's nodes
  --log-level LEVEL  ${LOG_LEVELS.join(" | ")} (default info)`;

export const CLUSTER_USAGE = `usage: deno run -A main.ts cluster [flags]
  --config FILE      cluster file (default ${DEFAULT_CONFIG_PATH})
  --data DIR         root of the per-node data directories (default ${DEFAULT_DATA_DIR})
  --nodes N          generate an N-node loopback cluster (1-${GENERATED_NODES_MAX}) instead of reading FILE
  --redirect         passed to every node: followers answer writes with 307 to the leader
  --text-forward     passed to every node: followers forward text-protocol writes`;

const NODE_FLAGS = {
  id: { type: "string" },
  config: { type: "string" },
  data: { type: "string" },
  redirect: { type: "boolean" },
  "text-forward": { type: "boolean" },
  join: { type: "boolean" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const CLUSTER_FLAGS = {
  config: { type: "string" },
  data: { type: "string" },
  nodes: { type: "string" },
  redirect: { type: "boolean" },
  "text-forward": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export function parseNodeArgs(argv: readonly string[]): ArgsResult<NodeArgs> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: NODE_FLAGS, strict: true }));
  } catch (err) {
    return { type: "error", message: describeParseError(err, Object.keys(NODE_FLAGS)) };
  }
  if (values.help === true) return { type: "help", text: NODE_USAGE };
  const id = values.id;
  if (id === undefined) return { type: "error", message: "missing --id ID (which node to run)" };
  if (!ID_PATTERN.test(id)) return { type: "error", message: `--id: ${ID_EXPECTED}, got "${id}"` };
  const logLevel = values["log-level"] ?? "info";
  if (!isLogLevel(logLevel)) {
    return {
      type: "error",
      message: `--log-level: expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`,
    };
  }
  for (const flag of ["config", "data"] as const) {
    if (values[flag] === "") return { type: "error", message: `--${flag}: expected a path` };
  }
  return {
    type: "ok",
    options: {
      id,
      configPath: values.config ?? DEFAULT_CONFIG_PATH,
      dataDir: values.data ?? join(DEFAULT_DATA_DIR, id),
      redirect: values.redirect ?? false,
      textForward: values["text-forward"] ?? false,
      join: values.join ?? false,
      logLevel,
    },
  };
}

export function parseClusterArgs(argv: readonly string[]): ArgsResult<ClusterArgs> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: CLUSTER_FLAGS, strict: true }));
  } catch (err) {
    return { type: "error", message: describeParseError(err, Object.keys(CLUSTER_FLAGS)) };
  }
  if (values.help === true) return { type: "help", text: CLUSTER_USAGE };
  for (const flag of ["config", "data"] as const) {
    if (values[flag] === "") return { type: "error", message: `--${flag}: expected a path` };
  }
  let nodes: number | null = null;
  if (values.nodes !== undefined) {
    if (values.config !== undefined) {
      return { type: "error", message: "--nodes and --config exclude each other" };
    }
    nodes = /^\d{1,3}$/.test(values.nodes) ? Number(values.nodes) : NaN;
    if (!(nodes >= 1 && nodes <= GENERATED_NODES_MAX)) {
      return {
        type: "error",
        message:
          `--nodes: expected an integer from 1 to ${GENERATED_NODES_MAX}, got "${values.nodes}"`,
      };
    }
  }
  return {
    type: "ok",
    options: {
      configPath: values.config ?? DEFAULT_CONFIG_PATH,
      dataDir: values.data ?? DEFAULT_DATA_DIR,
      nodes,
      nodeFlags: [
        ...(values.redirect ? ["--redirect"] : []),
        ...(values["text-forward"] ? ["--text-forward"] : []),
      ],
    },
  };
}

function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** node:util's messages are multi-line and mention positionals; ours are one short line. */
function describeParseError(err: unknown, flags: readonly string[]): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  const flag = quoted.split(/[ =]/)[0];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown flag ${flag} (flags: ${flags.map((name) => `--${name}`).join(", ")})`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument "${quoted}"`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return message.includes("does not take") ? `${flag} takes no value` : `${flag} needs a value`;
    default:
      return message.split("\n")[0];
  }
}
