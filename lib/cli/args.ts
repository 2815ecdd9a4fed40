// Command-line parsing: argv → one typed Command, or a one-line usage error.

import { parseArgs } from "node:util";

export type ValueSource =
  | { type: "arg"; value: string }
  | { type: "stdin" }
  | { type: "file"; path: string };

export type Command =
  | { type: "get"; key: string; serializable: boolean; json: boolean }
  | {
    type: "put";
    key: string;
    source: ValueSource;
    ttlS?: number;
    ifRevision?: number;
    create: boolean;
  }
  | { type: "del"; key: string; ifRevision?: number }
  | { type: "list"; prefix: string; limit?: number; keysOnly: boolean; json: boolean }
  | { type: "watch"; prefix: string; fromRevision?: number }
  | { type: "status"; json: boolean }
  | { type: "help" };

export type Parsed =
  | { type: "run"; command: Command; endpoints: string[] }
  | { type: "usage"; message: string };

export const DEFAULT_ENDPOINT = "http://127.0.0.1:7001";

const OPTIONS = {
  endpoint: { type: "string" },
  help: { type: "boolean", short: "h" },
  serializable: { type: "boolean" },
  json: { type: "boolean" },
  file: { type: "string" },
  ttl: { type: "string" },
  "if-revision": { type: "string" },
  create: { type: "boolean" },
  limit: { type: "string" },
  "keys-only": { type: "boolean" },
  "from-revision": { type: "string" },
} as const;

type OptionName = keyof typeof OPTIONS;
type CommandName = Exclude<Command["type"], "help">;

const COMMANDS: Record<CommandName, { usage: string; options: OptionName[] }> = {
  get: { usage: "kv get KEY [--serializable] [--json]", options: ["serializable", "json"] },
  put: {
    usage: "kv put KEY (VALUE | - | --file F) [--ttl S] [--if-revision R | --create]",
    options: ["file", "ttl", "if-revision", "create"],
  },
  del: { usage: "kv del KEY [--if-revision R]", options: ["if-revision"] },
  list: {
    usage: "kv list [PREFIX] [--limit N] [--keys-only] [--json]",
    options: ["limit", "keys-only", "json"],
  },
  watch: { usage: "kv watch [PREFIX] [--from-revision R]", options: ["from-revision"] },
  status: { usage: "kv status [--json]", options: ["json"] },
};

export const HELP = `kv — a client for raftkv (deno task kv COMMAND ...)

${Object.values(COMMANDS).map((c) => `  ${c.usage}`).join("\n")}

Every command takes --endpoint URL[,URL...] (default ${DEFAULT_ENDPOINT}, or $RAFTKV_ENDPOINT);
the next URL is tried when one cannot be reached. "put KEY -" reads the value from stdin;
put a value that starts with "-" after "--" (kv put KEY -- -1).
list and watch print one line per item, "KEY<TAB>VALUE" and "REVISION TYPE KEY VALUE": keys
and values that are not plain one-line text are JSON-quoted, binary values show as base64:...
Exit codes: 0 ok, 1 not found / precondition failed / server error, 2 bad usage,
3 no endpoint reachable.
`;

export function parseCommandLine(
  argv: string[],
  env: (name: string) => string | undefined,
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    // node:util's messages run over several sentences; the first one says it.
    return usage(String((err as Error).message).split(/\.\s|\n/)[0]);
  }
  const { values, positionals } = parsed;
  const [name, ...rest] = positionals;
  if (values.help || name === "help") {
    return { type: "run", command: { type: "help" }, endpoints: [] };
  }
  if (name === undefined) return usage(`missing command; try "kv help"`);
  if (!isCommandName(name)) {
    return usage(`unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(", ")}, help`);
  }
  const spec = COMMANDS[name];
  const stray = (Object.keys(values) as OptionName[]).find((o) =>
    o !== "endpoint" && o !== "help" && !spec.options.includes(o)
  );
  if (stray) return usage(`${name} has no option --${stray}; usage: ${spec.usage}`);
  const endpoints = parseEndpoints(values.endpoint ?? env("RAFTKV_ENDPOINT") ?? DEFAULT_ENDPOINT);
  if (typeof endpoints === "string") return usage(endpoints);
  const command = buildCommand(name, rest, values);
  if (typeof command === "string") return usage(`${command}; usage: ${spec.usage}`);
  return { type: "run", command, endpoints };
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

function buildCommand(name: CommandName, args: string[], v: Values): Command | string {
  const ints = {
    ttlS: integer(v.ttl, "--ttl", 1),
    ifRevision: integer(v["if-revision"], "--if-revision", 0),
    limit: integer(v.limit, "--limit", 1),
    fromRevision: integer(v["from-revision"], "--from-revision", 0),
  };
  const bad = Object.values(ints).find((x) => typeof x === "string");
  if (typeof bad === "string") return bad;
  const n = ints as { [K in keyof typeof ints]: number | undefined };
  switch (name) {
    case "get":
      return withKey(args, 1, (key) => ({
        type: "get",
        key,
        serializable: v.serializable ?? false,
        json: v.json ?? false,
      }));
    case "put":
      return putCommand(args, v, n.ttlS, n.ifRevision);
    case "del":
      return withKey(args, 1, (key) => ({ type: "del", key, ...opt("ifRevision", n.ifRevision) }));
    case "list":
      if (args.length > 1) return "too many arguments";
      return {
        type: "list",
        prefix: args[0] ?? "",
        ...opt("limit", n.limit),
        keysOnly: v["keys-only"] ?? false,
        json: v.json ?? false,
      };
    case "watch":
      if (args.length > 1) return "too many arguments";
      return { type: "watch", prefix: args[0] ?? "", ...opt("fromRevision", n.fromRevision) };
    case "status":
      if (args.length > 0) return "too many arguments";
      return { type: "status", json: v.json ?? false };
  }
}

function putCommand(
  args: string[],
  v: Values,
  ttlS: number | undefined,
  ifRevision: number | undefined,
): Command | string {
  if (v.create && ifRevision !== undefined) return "--create and --if-revision exclude each other";
  const [, value] = args;
  let source: ValueSource;
  if (v.file !== undefined) {
    if (value !== undefined) return "give the value or --file, not both";
    source = { type: "file", path: v.file };
  } else if (value === undefined) {
    return "missing value (give VALUE, - for stdin, or --file F)";
  } else {
    source = value === "-" ? { type: "stdin" } : { type: "arg", value };
  }
  return withKey(args, v.file !== undefined ? 1 : 2, (key) => ({
    type: "put",
    key,
    source,
    ...opt("ttlS", ttlS),
    ...opt("ifRevision", ifRevision),
    create: v.create ?? false,
  }));
}

function withKey(args: string[], count: number, make: (key: string) => Command): Command | string {
  const key = args[0];
  if (key === undefined) return "missing KEY";
  if (args.length > count) return "too many arguments";
  if (key === "") return "KEY must not be empty";
  // WHATWG URLs collapse these path segments (even as %2E), so no request could name them.
  if (key === "." || key === "..") return `KEY "${key}" cannot be addressed over HTTP`;
  return make(key);
}

function integer(text: string | undefined, flag: string, min: number): number | undefined | string {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) < min) {
    return `${flag} expects an integer >= ${min}, got "${text}"`;
  }
  return Number(text);
}

/** `{[name]: value}` when the value is present, `{}` otherwise (exactOptionalPropertyTypes-proof). */
function opt<K extends string>(name: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: number };
}

function parseEndpoints(list: string): string[] | string {
  const endpoints = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (endpoints.length === 0) return "--endpoint: no URL given";
  for (const e of endpoints) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      return `--endpoint: "${e}" is not a URL (expected e.g. ${DEFAULT_ENDPOINT})`;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return `--endpoint: "${e}" must be an http:// or https:// URL`;
    }
  }
  return endpoints.map((e) => e.replace(/\/+$/, ""));
}

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

function usage(message: string): Parsed {
  return { type: "usage", message };
}
