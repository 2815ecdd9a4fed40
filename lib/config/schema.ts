// The nodes.json schema (API.md §1). zod checks the shape of each field; the rules that
// span fields (unique ids, unique addresses, heartbeat < election) run after it on typed
// values, so each can name the exact field and the earlier one it collides with.

import { z } from "zod";

/** Nodes per cluster file: Raft quorums beyond 15 voters only cost latency. */
export const NODES_MAX = 15;
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const ID_EXPECTED =
  "expected 1-64 letters, digits, '_' or '-', starting with a letter or digit";

/** A listen/dial address taken apart. `hostname` has no IPv6 brackets (Deno.serve's form). */
export interface HostPort {
  hostname: string;
  port: number;
}

// host: a DNS name, an IPv4 address, or a bracketed IPv6 address; the port is mandatory.
const AUTHORITY =
  /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;

/** "host:port" → HostPort, or null when it is not exactly that. */
export function parseHostPort(text: string): HostPort | null {
  const match = AUTHORITY.exec(text);
  if (match === null) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return null;
  const host = match[1].toLowerCase();
  const hostname = host.startsWith("[") ? host.slice(1, -1) : host;
  return { hostname, port };
}

/** HostPort → "host:port", IPv6 hosts bracketed. */
export function formatHostPort({ hostname, port }: HostPort): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * "<scheme>://host:port" (an optional trailing "/") → HostPort, or null. Parsed by hand
 * rather than with `URL` because `URL` hides an explicit default port (":80" reads as "").
 */
export function parseUrlAddress(text: string, scheme: "http" | "ws"): HostPort | null {
  const prefix = `${scheme}://`;
  if (!text.startsWith(prefix)) return null;
  const rest = text.slice(prefix.length);
  return parseHostPort(rest.endsWith("/") ? rest.slice(0, -1) : rest);
}

function intIn(min: number, max: number) {
  const expected = { error: `expected an integer from ${min} to ${max}` };
  return z.number(expected).int(expected).min(min, expected).max(max, expected);
}

function address(expected: string, parse: (text: string) => HostPort | null) {
  const error = { error: expected };
  return z.string(error).max(300, error).refine((text) => parse(text) !== null, error);
}

export const CLIENT_EXPECTED = "expected an http:// URL with host and port";
export const PEER_EXPECTED = "expected a ws:// URL with host and port";
export const TEXT_EXPECTED = 'expected "host:port"';

export const nodeEntrySchema = z.strictObject({
  id: z.string({ error: ID_EXPECTED }).regex(ID_PATTERN, { error: ID_EXPECTED }),
  client: address(CLIENT_EXPECTED, (text) => parseUrlAddress(text, "http")),
  peer: address(PEER_EXPECTED, (text) => parseUrlAddress(text, "ws")),
  text: address(TEXT_EXPECTED, parseHostPort).optional(),
}, { error: "expected an object with id, client, peer and optional text" });

const nodesExpected = { error: `expected an array of 1 to ${NODES_MAX} nodes` };
const clusterExpected = { error: "expected a non-empty string of at most 128 characters" };
const secretExpected = { error: "expected a string of 8 to 4096 characters" };

export const clusterConfigSchema = z.strictObject({
  cluster: z.string(clusterExpected).min(1, clusterExpected).max(128, clusterExpected),
  nodes: z.array(nodeEntrySchema, nodesExpected).min(1, nodesExpected).max(
    NODES_MAX,
    nodesExpected,
  ),
  /** Peers prove membership with it (API.md §6). Absent: the cluster name stands in. */
  secret: z.string(secretExpected).min(8, secretExpected).max(4096, secretExpected).optional(),
  /** Length of one Raft tick. Election timeout = tickMs × [electionTicks, 2·electionTicks). */
  tickMs: intIn(1, 10_000).default(50),
  electionTicks: intIn(2, 1_000).default(10),
  heartbeatTicks: intIn(1, 999).default(1),
  /** Applied entries between snapshots (and log compaction). */
  snapshotEntries: intIn(1, 100_000_000).default(10_000),
  /** Largest value a client may write. 64 MiB caps what one entry can make a node buffer. */
  maxValueBytes: intIn(1, 64 * 1024 * 1024).default(1024 * 1024),
  /** Largest key. Capped at 1024 bytes: keys land inside Deno KV keys (≤ 2048 encoded bytes). */
  maxKeyBytes: intIn(1, 1024).default(1024),
  /** How long a client request may wait for commit/apply before it is answered 504. */
  requestTimeoutMs: intIn(1, 600_000).default(5000),
}, { error: 'expected a JSON object with "cluster" and "nodes"' });

export type NodeEntry = z.output<typeof nodeEntrySchema>;
/** A validated cluster file, defaults filled in. */
export type ClusterConfig = z.output<typeof clusterConfigSchema>;

export const TOP_LEVEL_KEYS: readonly string[] = Object.keys(clusterConfigSchema.shape);
export const NODE_KEYS: readonly string[] = Object.keys(nodeEntrySchema.shape);

/** A problem found in a parsed file: where (a zod-style path) and what. */
export interface Problem {
  path: readonly PropertyKey[];
  message: string;
}

const ADDRESS_FIELDS = ["client", "peer", "text"] as const;

function addressOf(node: NodeEntry, field: typeof ADDRESS_FIELDS[number]): HostPort | null {
  switch (field) {
    case "client":
      return parseUrlAddress(node.client, "http");
    case "peer":
      return parseUrlAddress(node.peer, "ws");
    case "text":
      return node.text === undefined ? null : parseHostPort(node.text);
  }
}

/** The rules zod cannot see field by field; the first broken one, or null. */
export function checkClusterRules(config: ClusterConfig): Problem | null {
  if (config.heartbeatTicks >= config.electionTicks) {
    return {
      path: ["heartbeatTicks"],
      message:
        `must be less than electionTicks (${config.electionTicks}), got ${config.heartbeatTicks}`,
    };
  }
  const idOwners = new Map<string, number>();
  const addressOwners = new Map<string, string>();
  for (const [index, node] of config.nodes.entries()) {
    const earlier = idOwners.get(node.id);
    if (earlier !== undefined) {
      return {
        path: ["nodes", index, "id"],
        message: `duplicate id "${node.id}" (already used by nodes[${earlier}])`,
      };
    }
    idOwners.set(node.id, index);
    for (const field of ADDRESS_FIELDS) {
      const hostPort = addressOf(node, field);
      if (hostPort === null) continue;
      const key = formatHostPort(hostPort);
      const owner = addressOwners.get(key);
      if (owner !== undefined) {
        return {
          path: ["nodes", index, field],
          message: `address ${key} already used by ${owner}`,
        };
      }
      addressOwners.set(key, `nodes[${index}].${field}`);
    }
  }
  return null;
}
