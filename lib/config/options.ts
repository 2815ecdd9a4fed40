// From flags + a validated cluster file to the one typed object a node starts from.

import { resolve } from "node:path";
import type { NodeId } from "../raft/types.ts";
import type { LogLevel, NodeArgs } from "./args.ts";
import { GENERATED_NODES_MAX } from "./args.ts";
import {
  type ClusterConfig,
  clusterConfigSchema,
  type HostPort,
  type NodeEntry,
  parseHostPort,
  parseUrlAddress,
} from "./schema.ts";

/** One cluster member with its addresses as written and taken apart. */
export interface Member {
  id: NodeId;
  /** "http://host:port": the HTTP API. */
  client: string;
  /** "ws://host:port": the peer WebSocket listener. */
  peer: string;
  /** "host:port" of the text protocol listener, or null when the node has none. */
  text: string | null;
  clientAddr: HostPort;
  peerAddr: HostPort;
  textAddr: HostPort | null;
}

/** Everything a node needs to start (what `startNode` takes). */
export interface NodeOptions {
  id: NodeId;
  cluster: string;
  /** This node's own entry. */
  self: Member;
  /** The other members, in file order. */
  peers: Member[];
  /** Every member, in file order: the bootstrap voters. */
  members: Member[];
  /** Absolute path of the cluster file. */
  configPath: string;
  dataDir: string;
  /** Peers authenticate with it; the cluster name when the file has none. */
  secret: string;
  redirect: boolean;
  textForward: boolean;
  join: boolean;
  logLevel: LogLevel;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  snapshotEntries: number;
  maxValueBytes: number;
  maxKeyBytes: number;
  requestTimeoutMs: number;
}

export type ResolveResult =
  | { type: "ok"; options: NodeOptions; warnings: string[] }
  | { type: "error"; message: string };

export function resolveNodeOptions(args: NodeArgs, config: ClusterConfig): ResolveResult {
  const members = config.nodes.map(toMember);
  const self = members.find((member) => member.id === args.id);
  if (self === undefined) {
    return {
      type: "error",
      message: `--id ${args.id}: no such node in ${args.configPath} (ids: ${
        members.map((member) => member.id).join(", ")
      })`,
    };
  }
  const warnings: string[] = [];
  if (config.secret === undefined) {
    warnings.push(
      `${args.configPath} has no "secret": peers authenticate with the cluster name ` +
        `"${config.cluster}", which anyone who can read the file knows; ` +
        `set "secret" (8+ characters)`,
    );
  }
  const options: NodeOptions = {
    id: self.id,
    cluster: config.cluster,
    self,
    peers: members.filter((member) => member.id !== self.id),
    members,
    configPath: resolve(args.configPath),
    dataDir: args.dataDir,
    secret: config.secret ?? config.cluster,
    redirect: args.redirect,
    textForward: args.textForward,
    join: args.join,
    logLevel: args.logLevel,
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    heartbeatTicks: config.heartbeatTicks,
    snapshotEntries: config.snapshotEntries,
    maxValueBytes: config.maxValueBytes,
    maxKeyBytes: config.maxKeyBytes,
    requestTimeoutMs: config.requestTimeoutMs,
  };
  return { type: "ok", options, warnings };
}

/** A validated entry's addresses cannot fail to parse: the schema ran these same parsers. */
function toMember(node: NodeEntry): Member {
  const clientAddr = parseUrlAddress(node.client, "http");
  const peerAddr = parseUrlAddress(node.peer, "ws");
  const textAddr = node.text === undefined ? null : parseHostPort(node.text);
  if (clientAddr === null || peerAddr === null || (node.text !== undefined && textAddr === null)) {
    throw new Error(`invariant: unvalidated node entry ${JSON.stringify(node)}`);
  }
  return {
    id: node.id,
    client: node.client,
    peer: node.peer,
    text: node.text ?? null,
    clientAddr,
    peerAddr,
    textAddr,
  };
}

/**
 * An n-node loopback cluster: n1..nN on ports 7001+i (client), 7101+i (peer), 9001+i
 * (text), i from 0. Defaults come from the schema, so they cannot drift.
 */
export function generateCluster(n: number, secret?: string): ClusterConfig {
  if (!Number.isInteger(n) || n < 1 || n > GENERATED_NODES_MAX) {
    throw new RangeError(`generateCluster: n must be 1..${GENERATED_NODES_MAX}, got ${n}`);
  }
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i + 1}`,
    client: `http://127.0.0.1:${7001 + i}`,
    peer: `ws://127.0.0.1:${7101 + i}`,
    text: `127.0.0.1:${9001 + i}`,
  }));
  return clusterConfigSchema.parse({ cluster: "local", nodes, secret });
}
