// A running node: storage + transport + replica + HTTP API, wired from NodeOptions.

import { join } from "node:path";
import { createApp } from "../api/app.ts";
import type { NodeOptions } from "../config/mod.ts";
import { KvStorage } from "../storage/mod.ts";
import { WsTransport } from "../transport/mod.ts";
import { Replica } from "./replica.ts";
import { startTextServer } from "../text/mod.ts";
import { attachWatchHub } from "../api/watch.ts";
import { NodeMetrics } from "../metrics/mod.ts";

export { Replica } from "./replica.ts";
export type { BarrierOutcome, ReplicaConfig, WriteCommand, WriteOutcome } from "./replica.ts";

export interface RunningNode {
  stop(): Promise<void>;
  replica: Replica;
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const log = (line: string) => console.error(`${options.id}: ${line}`);
  await Deno.mkdir(options.dataDir, { recursive: true });
  const storage = await KvStorage.open(join(options.dataDir, "raft.kv"));
  const transport = new WsTransport({
    id: options.id,
    listen: options.self.peerAddr,
    peers: options.peers.map((p) => ({ id: p.id, peer: p.peer })),
    secret: options.secret,
    log,
  });
  const metrics = new NodeMetrics();
  const replica = await Replica.open({
    id: options.id,
    voters: options.members.map((m) => m.id),
    addresses: new Map(
      options.members.map((m) => [m.id, { client: m.client, peer: m.peer, text: m.text }]),
    ),
    join: options.join,
    tickMs: options.tickMs,
    electionTicks: options.electionTicks,
    heartbeatTicks: options.heartbeatTicks,
    snapshotEntries: options.snapshotEntries,
    requestTimeoutMs: options.requestTimeoutMs,
    kvLimits: { keyBytesMax: options.maxKeyBytes, valueBytesMax: options.maxValueBytes },
  }, {
    // Decorated: storage write latency, message counts and peer round trips.
    storage: metrics.wrapStorage(storage),
    transport: metrics.wrapTransport(transport),
    log,
    fatal: (e) => {
      // Fail-stop: a broken invariant or a failed disk write must not limp on.
      console.error(`${options.id}: fatal: ${e instanceof Error ? e.stack : e}`);
      Deno.exit(70);
    },
  });
  await transport.start();
  const unwatchMetrics = metrics.watch({ replica, storage, transport });
  // Before start: the log replayed after a restart lands in the watch history too.
  const watch = attachWatchHub(replica);
  replica.start();
  const app = createApp({
    replica,
    redirect: options.redirect,
    maxKeyBytes: options.maxKeyBytes,
    maxValueBytes: options.maxValueBytes,
    peerStatus: () => transport.peerStatus(),
    metrics,
    watchHub: watch.hub,
    // Two maximal election timeouts without a word from the leader: unhealthy.
    leaderContactMaxMs: 2 * 2 * options.electionTicks * options.tickMs,
  });
  // The CS733 line protocol on the node's `text` address, if it has one.
  const text = options.self.textAddr === null ? null : startTextServer({
    replica,
    listen: options.self.textAddr,
    textForward: options.textForward,
    maxValueBytes: options.maxValueBytes,
    log,
  });
  const server = Deno.serve({
    hostname: options.self.clientAddr.hostname,
    port: options.self.clientAddr.port,
    onListen: () => log(`serving ${options.self.client} (peers on ${options.self.peer})`),
  }, app.fetch);
  return {
    replica,
    async stop() {
      // A planned stop of the leader hands leadership off first (§3.10), so the cluster does
      // not wait out an election timeout.
      if (
        replica.node.role === "leader" &&
        replica.members().some((m) => m.voter && m.id !== options.id)
      ) {
        const r = await replica.transferLeadership(null);
        log(
          r.type === "ok" ? `handed leadership to ${r.leader}` : `leadership hand-off: ${r.type}`,
        );
      }
      await text?.close();
      watch.detach(); // ends open watch streams, which server.shutdown() would wait for
      await server.shutdown();
      await replica.stop();
      unwatchMetrics();
      await transport.close();
      storage.close();
    },
  };
}
