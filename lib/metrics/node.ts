// Every metric of a running node (the names are the contract for dashboards and alerts):
// event counters fed by replica hooks and the storage/transport decorators, and gauges read
// from the replica, storage and transport at scrape time.

import type { RaftStatus } from "../raft/mod.ts";
import type { Replica, WriteCommand, WriteOutcome } from "../replica/replica.ts";
import type { RaftStorage } from "../storage/mod.ts";
import type { Transport } from "../transport/mod.ts";
import type { HttpMetrics } from "./http.ts";
import { type Counter, type Histogram, Registry, type Sample } from "./registry.ts";
import { TimedStorage } from "./storage.ts";
import { ObservedTransport, type TransportMetrics } from "./transport.ts";

/** Seconds; from 100 µs (a loopback round trip, a fast fsync) to 10 s (a request timeout). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** What scrape-time gauges read: the undecorated storage and transport. */
export interface NodeSources {
  replica: Replica;
  storage: RaftStorage;
  transport: Transport;
}

export class NodeMetrics {
  readonly registry: Registry;
  readonly http: HttpMetrics;
  private readonly storageWrite: Histogram<"op">;
  private readonly transportMetrics: TransportMetrics;
  private readonly writeDuration: Histogram<"outcome">;
  private readonly c: {
    proposals: Counter<"outcome">;
    applied: Counter<"result">;
    leaderChanges: Counter;
    snapshotsInstalled: Counter;
  };
  private sources: NodeSources | null = null;
  private observed: ObservedTransport | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {
    const r = this.registry = new Registry();
    this.c = {
      proposals: r.counter({
        name: "raftkv_proposals_total",
        help:
          "Client writes proposed through this node, by outcome (applied, unavailable, timeout).",
        labelNames: ["outcome"],
      }),
      applied: r.counter({
        name: "raftkv_applied_commands_total",
        help: "Commands applied to this node's state machine, by result type.",
        labelNames: ["result"],
      }),
      leaderChanges: r.counter({
        name: "raftkv_leader_changes_seen_total",
        help: "Times this node learned of a new leader (a new leader id or term).",
      }),
      snapshotsInstalled: r.counter({
        name: "raftkv_snapshots_installed_total",
        help:
          "Snapshots received from the leader (InstallSnapshot) that replaced the state machine.",
      }),
    };
    this.writeDuration = r.histogram({
      name: "raftkv_write_duration_seconds",
      help: "Time from proposing a client write to knowing its outcome, by outcome.",
      labelNames: ["outcome"],
      buckets: LATENCY_BUCKETS,
    });
    this.storageWrite = r.histogram({
      name: "raftkv_storage_write_seconds",
      help:
        "Durable Deno KV writes of the Raft log: one Ready's entries and hard state (append) or a snapshot; each is one or more atomic commits, one WAL fsync each.",
      labelNames: ["op"],
      buckets: LATENCY_BUCKETS,
    });
    this.http = {
      requests: r.counter({
        name: "raftkv_http_requests_total",
        help: "HTTP requests answered, by method, matched route pattern and status code.",
        labelNames: ["method", "route", "code"],
      }),
      duration: r.histogram({
        name: "raftkv_http_request_duration_seconds",
        help: "HTTP request latency to the response head, by method and matched route pattern.",
        labelNames: ["method", "route"],
        buckets: LATENCY_BUCKETS,
      }),
    };
    this.transportMetrics = {
      sent: r.counter({
        name: "raftkv_messages_sent_total",
        help: "Peer messages (Raft, snapshot chunks and acks) handed to the transport, by type.",
        labelNames: ["type"],
      }),
      received: r.counter({
        name: "raftkv_messages_received_total",
        help: "Peer messages received (validated), by type.",
        labelNames: ["type"],
      }),
      rtt: r.histogram({
        name: "raftkv_peer_rtt_seconds",
        help: "Round trip from a leader's heartbeat to the peer's response, by peer.",
        labelNames: ["peer"],
        buckets: LATENCY_BUCKETS,
      }),
    };
    this.registerScrapeGauges();
  }

  /** The storage to give the replica: times append and saveSnapshot. */
  wrapStorage(storage: RaftStorage): RaftStorage {
    return new TimedStorage(storage, this.storageWrite, this.now);
  }

  /** The transport to give the replica: counts messages and measures peer round trips. */
  wrapTransport(transport: Transport): Transport {
    this.observed = new ObservedTransport(transport, this.transportMetrics, this.now);
    return this.observed;
  }

  /** Subscribes to the replica's hooks and starts reading gauges from `sources`. Returns an
   * unsubscribe function. */
  watch(sources: NodeSources): () => void {
    this.sources = sources;
    const { replica } = sources;
    const offApplied = replica.onApplied((a) => this.c.applied.inc({ result: a.result.type }));
    let last: { leader: string; term: number } | null = null;
    const offLeader = replica.onLeaderChange((leader, term) => {
      if (leader === null || (last?.leader === leader && last.term === term)) return;
      last = { leader, term };
      this.c.leaderChanges.inc();
    });
    const offRestore = replica.onRestore(() => this.c.snapshotsInstalled.inc());
    const unwrap = this.wrapWrite(replica);
    return () => {
      offApplied();
      offLeader();
      offRestore();
      unwrap();
      this.sources = null;
    };
  }

  /** Replica has no hook for write outcomes, so its write() is wrapped on this instance.
   * (A `Replica.onWriteOutcome` hook would make this unnecessary.) */
  private wrapWrite(replica: Replica): () => void {
    const original = replica.write;
    replica.write = async (command: WriteCommand): Promise<WriteOutcome> => {
      const startMs = this.now();
      const outcome = await original.call(replica, command);
      this.c.proposals.inc({ outcome: outcome.type });
      this.writeDuration.observe({ outcome: outcome.type }, (this.now() - startMs) / 1000);
      return outcome;
    };
    return () => {
      replica.write = original;
    };
  }

  private registerScrapeGauges(): void {
    const r = this.registry;
    const status = (): RaftStatus | null => this.sources?.replica.status() ?? null;
    const gauge = (name: string, help: string, read: (st: RaftStatus) => number) =>
      r.callback({ type: "gauge", name, help, collect: () => one(optional(status(), read)) });
    gauge("raftkv_term", "Current Raft term.", (st) => st.term);
    gauge(
      "raftkv_commit_index",
      "Highest log index known to be committed.",
      (st) => st.commitIndex,
    );
    gauge("raftkv_applied_index", "Highest log index applied to the state machine.", () => {
      return this.sources!.replica.sm.appliedIndex;
    });
    gauge("raftkv_apply_lag_entries", "commitIndex minus the applied index.", (st) => {
      return st.commitIndex - this.sources!.replica.sm.appliedIndex;
    });
    gauge("raftkv_last_log_index", "Index of the last entry in the log.", (st) => st.lastIndex);
    gauge("raftkv_snapshot_index", "Last index covered by the snapshot.", (st) => st.snapshotIndex);
    gauge(
      "raftkv_is_leader",
      "1 if this node is the leader.",
      (st) => Number(st.role === "leader"),
    );
    gauge(
      "raftkv_has_leader",
      "1 if this node knows a leader.",
      (st) => Number(st.leader !== null),
    );
    gauge("raftkv_kv_revision", "The key-value store's revision.", () => {
      return this.sources!.replica.sm.revision;
    });
    r.callback({
      type: "gauge",
      name: "raftkv_members",
      help: "Members of the configuration in force, by kind (voter, learner).",
      labelNames: ["kind"],
      collect: () => {
        const st = status();
        if (st === null) return [];
        return [
          { labels: { kind: "voter" }, value: st.config.voters.length },
          { labels: { kind: "learner" }, value: st.config.learners.length },
        ];
      },
    });
    this.registerPeerGauges();
    this.registerIoCounters();
  }

  private registerPeerGauges(): void {
    const r = this.registry;
    const peers = () => [...(this.sources?.transport.peerStatus() ?? new Map())];
    r.callback({
      type: "gauge",
      name: "raftkv_peer_connected",
      help: "1 if the peer link is up.",
      labelNames: ["peer"],
      collect: () => peers().map(([peer, s]) => ({ labels: { peer }, value: Number(s.connected) })),
    });
    r.callback({
      type: "gauge",
      name: "raftkv_peer_last_contact_seconds",
      help: "Seconds since the last frame from the peer (absent if never).",
      labelNames: ["peer"],
      collect: () =>
        peers().flatMap(([peer, s]) =>
          s.lastContactMs === null ? [] : [{ labels: { peer }, value: s.lastContactMs / 1000 }]
        ),
    });
    r.callback({
      type: "gauge",
      name: "raftkv_peer_match_index",
      help: "The leader's matchIndex for each member (only on the leader).",
      labelNames: ["peer"],
      collect: () => {
        const progress = this.sources?.replica.status().progress ?? new Map();
        return [...progress].map(([peer, p]) => ({ labels: { peer }, value: p.matchIndex }));
      },
    });
    r.callback({
      type: "gauge",
      name: "raftkv_peer_last_rtt_seconds",
      help: "The last heartbeat round trip to each peer (only on the leader).",
      labelNames: ["peer"],
      collect: () =>
        [...(this.observed?.lastRtt() ?? new Map())].map(([peer, ms]) => ({
          labels: { peer },
          value: ms / 1000,
        })),
    });
  }

  private registerIoCounters(): void {
    const r = this.registry;
    const transport = () => this.sources?.transport.stats();
    const counter = (name: string, help: string, read: () => number | undefined) =>
      r.callback({
        type: "counter",
        name,
        help,
        collect: () => one(read()),
      });
    counter("raftkv_transport_frames_sent_total", "Peer frames sent.", () => {
      return transport()?.framesSent;
    });
    counter("raftkv_transport_frames_received_total", "Peer frames received.", () => {
      return transport()?.framesReceived;
    });
    counter(
      "raftkv_transport_frames_dropped_total",
      "Outgoing peer frames dropped: no link, send queue full, or too large.",
      () => transport()?.framesDropped,
    );
    counter(
      "raftkv_transport_frames_malformed_total",
      "Incoming peer frames rejected: undecodable, invalid, misaddressed or out of order.",
      () => transport()?.framesMalformed,
    );
    counter("raftkv_transport_auth_failures_total", "Failed peer handshakes.", () => {
      return transport()?.authFailures;
    });
    const stream = () => this.sources?.replica.snapshotStreamStats();
    counter(
      "raftkv_snapshot_bytes_sent_total",
      "Snapshot bytes streamed to followers (InstallSnapshot chunks, resends included).",
      () => stream()?.bytesSent,
    );
    counter(
      "raftkv_snapshot_bytes_received_total",
      "Snapshot bytes received from the leader and staged on disk.",
      () => stream()?.bytesReceived,
    );
    counter(
      "raftkv_snapshot_chunks_rejected_total",
      "Snapshot chunks refused: malformed, from a stale term, or beyond the receive queue.",
      () => stream()?.chunksRejected,
    );
    r.callback({
      type: "gauge",
      name: "raftkv_snapshot_buffered_bytes",
      help:
        "Snapshot bytes held in memory for transfers: sent but unacknowledged, or received and not yet on disk.",
      collect: () => one(optional(stream(), (s) => s.bufferedBytes)),
    });
    const storage = () => this.sources?.storage.stats();
    counter("raftkv_storage_kv_commits_total", "Deno KV atomic commits (one fsync each).", () => {
      return storage()?.commits;
    });
    counter(
      "raftkv_storage_kv_commit_seconds_total",
      "Time spent waiting for Deno KV commits.",
      () => optional(storage(), (s) => s.commitMsTotal / 1000),
    );
    r.callback({
      type: "gauge",
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
      collect: () => [{ labels: {}, value: Deno.memoryUsage().rss }],
    });
    r.callback({
      type: "gauge",
      name: "process_start_time_seconds",
      help: "Start time of the process since the Unix epoch in seconds.",
      collect: () => [{ labels: {}, value: Math.floor(performance.timeOrigin / 1000) }],
    });
  }
}

function one(v: number | undefined): Sample<never>[] {
  return v === undefined ? [] : [{ labels: {}, value: v }];
}

function optional<T>(v: T | null | undefined, read: (v: T) => number): number | undefined {
  return v === null || v === undefined ? undefined : read(v);
}
