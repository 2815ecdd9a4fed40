// The TCP listener of the CS733 text protocol (API.md §5): accepts connections (up to a limit)
// and gives each its Session. close() stops accepting and closes every connection.

import type { HostPort } from "../config/mod.ts";
import type { Replica } from "../replica/replica.ts";
import { replicaMembers, type TextMember } from "./execute.ts";
import type { ParserLimits } from "./parser.ts";
import { ERR_INTERNAL } from "./replies.ts";
import { defaultSessionLimits, Session, type SessionLimits } from "./session.ts";

export interface TextServerLimits extends SessionLimits {
  /** Open connections; more are answered ERR_INTERNAL and closed. */
  connectionsMax: number;
  /** numbytes over the node's maxValueBytes but up to this: ERR_CMD_ERR and the value is
   * skipped; above it: ERR_CMD_ERR and the connection closes. */
  skipBytesMax: number;
}

export const defaultTextServerLimits: TextServerLimits = {
  ...defaultSessionLimits,
  connectionsMax: 1024,
  skipBytesMax: 64 * 1024 * 1024,
};

export interface TextServerOptions {
  replica: Replica;
  /** Where to listen; port 0 picks a free port. */
  listen: HostPort;
  /** Where ERR_REDIRECT points: by default the replica's current configuration
   * (`replica.members()`, which follows membership changes); an array given here is read on
   * every redirect instead. */
  members?: readonly TextMember[];
  /** Followers execute commands instead of answering ERR_REDIRECT (`--text-forward`). */
  textForward: boolean;
  /** The node's value limit: a larger numbytes is ERR_CMD_ERR. */
  maxValueBytes: number;
  log: (line: string) => void;
  limits?: Partial<TextServerLimits> & { parser?: Partial<ParserLimits> };
}

export interface TextServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting, closes every connection, resolves when all are closed. */
  close(): Promise<void>;
}

/** Binds at once (throws if the address is taken) and serves in the background. */
export function startTextServer(options: TextServerOptions): TextServer {
  const limits: TextServerLimits = { ...defaultTextServerLimits, ...options.limits };
  const parserLimits: Partial<ParserLimits> = {
    ...options.limits?.parser,
    valueBytesMax: options.maxValueBytes,
    skipBytesMax: limits.skipBytesMax,
  };
  const fixed = options.members;
  const ctx = {
    replica: options.replica,
    members: fixed === undefined ? () => replicaMembers(options.replica) : () => fixed,
    textForward: options.textForward,
    log: options.log,
  };
  const listener = Deno.listen({
    transport: "tcp",
    hostname: options.listen.hostname,
    port: options.listen.port,
  });
  const sessions = new Set<Session>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };

  const serve = (conn: Deno.TcpConn) => {
    if (sessions.size >= limits.connectionsMax) {
      track(refuse(conn));
      return;
    }
    // Replies are small and pipelined: never let Nagle hold one back.
    conn.setNoDelay(true);
    const session = new Session(conn, ctx, parserLimits, limits);
    sessions.add(session);
    track(session.run().finally(() => sessions.delete(session)));
  };

  const acceptLoop = (async () => {
    while (!closing) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (!closing) options.log(`text: accept failed, listener stopped: ${e}`);
        return;
      }
      if (closing) {
        conn.close();
        return;
      }
      serve(conn);
    }
  })();

  const { port } = listener.addr as Deno.NetAddr;
  options.log(`text protocol on ${options.listen.hostname}:${port}`);
  return {
    port,
    async close() {
      if (closing) return;
      closing = true;
      listener.close();
      await acceptLoop;
      for (const session of sessions) session.close();
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
}

/** Over the connection limit: say so, then hang up. */
async function refuse(conn: Deno.Conn): Promise<void> {
  try {
    await conn.write(ERR_INTERNAL[0]);
  } catch {
    // The client is already gone.
  } finally {
    conn.close();
  }
}
