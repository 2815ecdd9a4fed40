// Test helpers for the Raft core: a seeded RNG, entry builders and a small synchronous
// cluster harness. Each node's Ready is drained in contract order (persist → send → apply →
// advance) into an in-memory "disk"; messages wait in one queue until a test delivers them.

import { RaftNode } from "./node.ts";
import { encodeConfChange } from "./confchange.ts";
import {
  type ConfChange,
  type ConfigState,
  DEFAULT_CONFIG,
  type Entry,
  type EntryType,
  type HardState,
  type InitialState,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Ready,
  type Snapshot,
  type SnapshotMeta,
} from "./types.ts";

import { mulberry32 } from "../../test/rng.ts";
export { mulberry32 };

export function seedOf(id: NodeId): number {
  let h = 7;
  for (const ch of id) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}

export function makeConfig(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return { ...DEFAULT_CONFIG, id, random: mulberry32(seedOf(id)), ...overrides };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export function ent(index: number, term: number, type: EntryType = "normal", data = ""): Entry {
  return { index, term, type, data: bytes(data) };
}

export function confEnt(index: number, term: number, change: ConfChange): Entry {
  return { index, term, type: "config", data: encodeConfChange(change) };
}

/** Entries 1..terms.length with the given terms (terms[k] is the term of index k+1). */
export function entriesWithTerms(terms: number[], from = 1): Entry[] {
  return terms.map((term, k) => ent(from + k, term));
}

/** `count` copies of `term`. */
export function repeat(term: number, count: number): number[] {
  return Array.from({ length: count }, () => term);
}

export function initialState(
  voters: NodeId[],
  opts: Partial<Omit<InitialState, "bootstrap">> & { learners?: NodeId[] } = {},
): InitialState {
  return {
    hardState: opts.hardState ?? { term: 0, votedFor: null, commitIndex: 0 },
    snapshot: opts.snapshot ?? null,
    entries: opts.entries ?? [],
    bootstrap: { voters, learners: opts.learners ?? [] },
  };
}

/** What a node has on stable storage. */
export interface Disk {
  hardState: HardState;
  snapshot: Snapshot | null;
  entries: Entry[];
}

/** What a node's state machine has seen. */
export interface Applied {
  entries: Entry[];
  snapshots: SnapshotMeta[];
  readStates: ReadState[];
}

export type MessageFilter = (m: Message) => boolean;

const DRAIN_LIMIT = 1000;

export class Cluster {
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly disks = new Map<NodeId, Disk>();
  readonly applied = new Map<NodeId, Applied>();
  readonly bootstrap: ConfigState;
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Every message ever sent, in order (for counting). */
  readonly sent: Message[] = [];
  /** Every Ready handed out, per node (for inspecting batches). */
  readonly readies = new Map<NodeId, Ready[]>();
  /** Nodes cut off from everyone. */
  readonly isolated = new Set<NodeId>();
  /** Extra drop rule: a message is dropped when this returns false. */
  filter: MessageFilter = () => true;
  private readonly overrides: Partial<RaftConfig>;

  constructor(
    voters: NodeId[],
    overrides: Partial<RaftConfig> = {},
    inits?: Map<NodeId, InitialState>,
  ) {
    this.bootstrap = { voters, learners: [] };
    this.overrides = overrides;
    for (const id of voters) this.add(id, inits?.get(id));
  }

  /** Creates (or replaces) node `id`; it starts from `init` or from an empty log. */
  add(id: NodeId, init?: InitialState, overrides: Partial<RaftConfig> = {}): RaftNode {
    const start = init ?? initialState(this.bootstrap.voters);
    const node = new RaftNode(makeConfig(id, { ...this.overrides, ...overrides }), start);
    this.nodes.set(id, node);
    const snapshot = start.snapshot ? { meta: start.snapshot, data: new Uint8Array(0) } : null;
    this.disks.set(id, { hardState: start.hardState, snapshot, entries: [...start.entries] });
    this.applied.set(id, { entries: [], snapshots: [], readStates: [] });
    this.readies.set(id, []);
    return node;
  }

  node(id: NodeId): RaftNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Restarts `id` from what is on its disk: volatile state, including the state machine,
   * is lost (the state machine starts again from the snapshot). */
  restart(id: NodeId, overrides: Partial<RaftConfig> = {}): RaftNode {
    const disk = this.disks.get(id)!;
    const init: InitialState = {
      hardState: disk.hardState,
      snapshot: disk.snapshot?.meta ?? null,
      entries: [...disk.entries],
      bootstrap: this.bootstrap,
    };
    return this.add(id, init, overrides);
  }

  /** What a shell does to compact: save a snapshot at `index` (≤ lastApplied), then drop
   * the log up to it. */
  compact(id: NodeId, index: number): SnapshotMeta {
    const node = this.node(id);
    const disk = this.disks.get(id)!;
    const meta = node.snapshotMeta(index);
    disk.snapshot = { meta, data: bytes(`image@${index}`) };
    disk.entries = disk.entries.filter((e) => e.index > index);
    return node.compact(index);
  }

  /** Handles every Ready of `id` (or of every node) in contract order. */
  drain(id?: NodeId): void {
    const ids = id === undefined ? [...this.nodes.keys()] : [id];
    for (const nid of ids) {
      const node = this.node(nid);
      for (let k = 0; node.hasReady(); k++) {
        if (k >= DRAIN_LIMIT) throw new Error(`${nid}: Ready never drains`);
        this.handleReady(nid, node.ready());
      }
    }
  }

  private handleReady(id: NodeId, rd: Ready): void {
    this.readies.get(id)!.push(rd);
    persist(this.disks.get(id)!, rd);
    this.queue.push(...rd.messages);
    this.sent.push(...rd.messages);
    const applied = this.applied.get(id)!;
    if (rd.snapshot) applied.snapshots.push(rd.snapshot.meta);
    applied.entries.push(...rd.committedEntries);
    applied.readStates.push(...rd.readStates);
    this.node(id).advance(rd);
  }

  /** Whether `m` survives the network. */
  passes(m: Message): boolean {
    return !this.isolated.has(m.from) && !this.isolated.has(m.to) && this.filter(m);
  }

  /** Delivers everything queued now (dropping what the network drops), then drains. */
  deliver(): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const m of batch) {
      if (!this.passes(m)) continue;
      this.nodes.get(m.to)?.step(m);
      delivered++;
    }
    this.drain();
    return delivered;
  }

  /** Delivers and drains until no message is left; returns the number of rounds. */
  stabilize(maxRounds = 100): number {
    this.drain();
    let rounds = 0;
    while (this.queue.length > 0) {
      if (++rounds > maxRounds) throw new Error("cluster does not stabilize");
      this.deliver();
    }
    return rounds;
  }

  /** Ticks the given nodes (default all) `n` times, stabilizing after each tick. */
  tick(n = 1, ids: NodeId[] = [...this.nodes.keys()]): void {
    for (let k = 0; k < n; k++) {
      for (const id of ids) this.node(id).tick();
      this.stabilize();
    }
  }

  /** Campaigns `id` and lets the election finish. */
  elect(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
    const role = this.node(id).status().role;
    if (role !== "leader") throw new Error(`${id} did not win: ${role}`);
  }

  leaders(): NodeId[] {
    return [...this.nodes.keys()].filter((id) => this.node(id).status().role === "leader");
  }

  /** Proposes `data` on `id` and lets it commit; returns the entry's index. */
  commit(id: NodeId, data: string): number {
    const res = this.node(id).propose(bytes(data));
    if (res.type !== "ok") throw new Error(`proposal refused: ${JSON.stringify(res)}`);
    this.stabilize();
    return res.index;
  }

  /** The normal entries' payloads `id` has applied, in order. */
  appliedData(id: NodeId): string[] {
    return this.applied.get(id)!.entries.filter((e) => e.type === "normal").map((e) =>
      text(e.data)
    );
  }

  /** Messages in the queue of `type` going `to` (optional). */
  queued(type: Message["type"], to?: NodeId): Message[] {
    return this.queue.filter((m) => m.type === type && (to === undefined || m.to === to));
  }
}

/** Writes a Ready to a disk: snapshot, then entries (replacing the tail), then hard state. */
export function persist(disk: Disk, rd: Ready): void {
  if (rd.snapshot) {
    // As lib/storage does: the tail survives only if the log holds the snapshot's last entry.
    const meta = rd.snapshot.meta;
    const matches = disk.entries.some((e) => e.index === meta.index && e.term === meta.term);
    disk.snapshot = rd.snapshot;
    disk.entries = matches ? disk.entries.filter((e) => e.index > meta.index) : [];
  }
  if (rd.entries.length > 0) {
    const first = rd.entries[0].index;
    disk.entries = [...disk.entries.filter((e) => e.index < first), ...rd.entries];
  }
  if (rd.hardState) disk.hardState = rd.hardState;
}

/** Checks that every node's applied entries agree index by index (State Machine Safety). */
export function appliedAgree(c: Cluster): boolean {
  const byIndex = new Map<number, string>();
  for (const applied of c.applied.values()) {
    for (const e of applied.entries) {
      const key = `${e.term}/${e.type}/${text(e.data)}`;
      const seen = byIndex.get(e.index);
      if (seen !== undefined && seen !== key) return false;
      byIndex.set(e.index, key);
    }
  }
  return true;
}

/** Drains a lone node's Readies (advancing each) and returns them. */
export function drainNode(node: RaftNode): Ready[] {
  const out: Ready[] = [];
  for (let k = 0; node.hasReady(); k++) {
    if (k >= DRAIN_LIMIT) throw new Error(`${node.id}: Ready never drains`);
    const rd = node.ready();
    out.push(rd);
    node.advance(rd);
  }
  return out;
}

/** The messages a lone node has to send now. */
export function outbox(node: RaftNode): Message[] {
  return drainNode(node).flatMap((rd) => rd.messages);
}

export function voteRequest(
  from: NodeId,
  to: NodeId,
  term: number,
  last: { index: number; term: number },
  opts: { pre?: boolean; transfer?: boolean } = {},
): Message {
  return {
    type: opts.pre ? "preVote" : "vote",
    from,
    to,
    term,
    lastLogIndex: last.index,
    lastLogTerm: last.term,
    transfer: opts.transfer ?? false,
  };
}
