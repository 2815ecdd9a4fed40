// What each parsed command does against the replica, and which reply it earns (API.md §5).
// Never throws: whatever goes wrong inside becomes ERR_INTERNAL.

import { type HostPort, parseHostPort } from "../config/mod.ts";
import type { CommandResult } from "../kv/mod.ts";
import type { NodeId } from "../raft/mod.ts";
import type { Replica, WriteCommand, WriteOutcome } from "../replica/replica.ts";
import type { TextCommand } from "./parser.ts";
import {
  DELETED,
  ERR_CMD_ERR,
  ERR_INTERNAL,
  ERR_NOT_FOUND,
  ERR_VERSION,
  okReply,
  redirectReply,
  type Reply,
  valueMetaReply,
  valueReply,
} from "./replies.ts";

export interface TextMember {
  id: NodeId;
  /** The member's text protocol address, or null when it has none. */
  text: HostPort | null;
}

export interface ExecContext {
  replica: Replica;
  /** Asked on every redirect: membership and addresses may change while the node runs. */
  members: () => readonly TextMember[];
  /** Followers execute (writes forwarded over Raft, reads by ReadIndex) instead of redirecting. */
  textForward: boolean;
  log: (line: string) => void;
}

/** The members as the replicated configuration has them, text addresses taken apart. */
export function replicaMembers(replica: Replica): TextMember[] {
  return replica.members().map((m) => ({
    id: m.id,
    // Addresses were validated when they entered the configuration; one that does not parse
    // is treated like a member without a text listener.
    text: m.text === null ? null : parseHostPort(m.text),
  }));
}

/** Reads must not overlap writes of the same connection (see session.ts). */
export type CommandClass = "read" | "write";

export function commandClass(command: TextCommand): CommandClass {
  switch (command.type) {
    case "get":
    case "getm":
      return "read";
    case "cas":
      // A version no key can have is answered by a read (see casUnmatchable).
      return casUnmatchable(command.version) ? "read" : "write";
    case "set":
    case "delete":
      return "write";
    default:
      return assertNever(command);
  }
}

/** The reply, or null when there is nothing to send (a `noreply` success). */
export async function execute(ctx: ExecContext, command: TextCommand): Promise<Reply | null> {
  try {
    const redirect = followerRedirect(ctx);
    if (redirect !== null) return redirect;
    return await run(ctx, command);
  } catch (e) {
    ctx.log(`text: ${command.type} failed: ${e instanceof Error ? e.stack : e}`);
    return ERR_INTERNAL;
  }
}

function run(ctx: ExecContext, command: TextCommand): Promise<Reply | null> {
  switch (command.type) {
    case "set":
      return write(ctx, command.noreply, {
        type: "put",
        key: command.key,
        value: command.value,
        ...ttl(command.exptime),
      });
    case "cas":
      if (casUnmatchable(command.version)) return read(ctx, command.key, casMiss);
      return write(ctx, command.noreply, {
        type: "put",
        key: command.key,
        value: command.value,
        ifVersion: command.version,
        ...ttl(command.exptime),
      });
    case "delete":
      return write(ctx, false, { type: "delete", key: command.key });
    case "get":
      return read(ctx, command.key, (kv) => kv === null ? ERR_NOT_FOUND : valueReply(kv.value));
    case "getm":
      return read(ctx, command.key, (kv, nowMs) => {
        if (kv === null) return ERR_NOT_FOUND;
        // Whole seconds left, rounded up: a live key never shows 0 (which means "never").
        const exptime = kv.expiresAt === null ? 0 : Math.ceil((kv.expiresAt - nowMs) / 1000);
        return valueMetaReply(kv.version, exptime, kv.value);
      });
    default:
      return assertNever(command);
  }
}

/** exptime 0 = never expires; a TTL-less write also clears an earlier TTL (CS733 semantics). */
function ttl(exptime: number): { ttlMs?: number } {
  return exptime === 0 ? {} : { ttlMs: exptime * 1000 };
}

/** Versions start at 1 and stay safe integers: no key can hold 0 or an unsafe number. */
function casUnmatchable(version: number): boolean {
  return version < 1 || !Number.isSafeInteger(version);
}

/** A cas that cannot succeed still tells present (ERR_VERSION) from absent (ERR_NOT_FOUND). */
function casMiss(kv: { version: number } | null): Reply {
  return kv === null ? ERR_NOT_FOUND : ERR_VERSION;
}

/** A follower without --text-forward points at the leader's text address. */
function followerRedirect(ctx: ExecContext): Reply | null {
  const { node } = ctx.replica;
  if (ctx.textForward || node.role === "leader") return null;
  const leaderId = node.leader;
  const leader = leaderId === null ? undefined : ctx.members().find((m) => m.id === leaderId);
  // No leader known, or a leader without a text listener: nowhere to send the client.
  if (leader === undefined || leader.text === null) return ERR_INTERNAL;
  return redirectReply(leader.text);
}

async function read(
  ctx: ExecContext,
  key: string,
  reply: (kv: ReturnType<Replica["sm"]["get"]>, nowMs: number) => Reply,
): Promise<Reply> {
  const barrier = await ctx.replica.readBarrier();
  if (barrier.type !== "ok") return ERR_INTERNAL;
  const nowMs = ctx.replica.clock();
  return reply(ctx.replica.sm.get(key, nowMs), nowMs);
}

async function write(
  ctx: ExecContext,
  noreply: boolean,
  command: WriteCommand,
): Promise<Reply | null> {
  const outcome: WriteOutcome = await ctx.replica.write(command);
  if (outcome.type !== "applied") return ERR_INTERNAL;
  const reply = resultReply(ctx, outcome.result);
  // noreply suppresses the success line only.
  return noreply && reply.success ? null : reply.reply;
}

function resultReply(ctx: ExecContext, result: CommandResult): { reply: Reply; success: boolean } {
  switch (result.type) {
    case "put":
      return { reply: okReply(result.version), success: true };
    case "delete":
      return { reply: DELETED, success: true };
    case "notFound":
      return { reply: ERR_NOT_FOUND, success: false };
    case "failed":
      // Only cas sets a precondition here; an absent key fails it with current = null.
      if (result.reason !== "version") break;
      return { reply: result.current === null ? ERR_NOT_FOUND : ERR_VERSION, success: false };
    case "invalid":
      // Over a state machine limit (a key longer than the node's maxKeyBytes): bad input.
      return { reply: ERR_CMD_ERR, success: false };
    case "error":
    case "txn":
    case "sweep":
      break;
    default:
      return assertNever(result);
  }
  ctx.log(`text: unexpected write result ${JSON.stringify(result)}`);
  return { reply: ERR_INTERNAL, success: false };
}

function assertNever(value: never): never {
  throw new Error(`unexpected: ${JSON.stringify(value)}`);
}
