// The simulated clients: each issues one operation at a time (a write, or a ReadIndex read)
// against a random live server, and gives up on it after a timeout. Once faults heal, each
// client has one final write that it retries until it commits: the liveness probe.

import type { Entry, ReadState } from "../../lib/raft/mod.ts";
import type { Checker, WriteRecord } from "./checker.ts";
import type { Rng } from "../rng.ts";
import type { SimNode } from "./sim_node.ts";
import { decodeCommand, encodeCommand } from "./state_machine.ts";

/** Steps before a client gives up on an operation (its outcome is then unknown). */
const OP_TIMEOUT_STEPS = 600;
/** Steps between two tries of a client's final write. */
const RETRY_STEPS = 250;

type Op =
  | {
    kind: "put";
    node: SimNode;
    seq: number;
    key: string;
    value: string;
    start: number;
    write: WriteRecord;
  }
  | { kind: "get"; node: SimNode; ctx: number; key: string; start: number; index: number };

interface Client {
  id: number;
  seq: number;
  op: Op | null;
  nextAt: number;
  /** Heal phase: the write this client must see committed, retried until it is. */
  final: { seq: number; key: string; value: string; lastTry: number; done: boolean } | null;
}

export class Workload {
  private readonly clients: Client[] = [];
  /** Every write a client issued, by key, and by its (unique) value. */
  private readonly writesByKey = new Map<string, WriteRecord[]>();
  private readonly writeByValue = new Map<string, WriteRecord>();
  private nextCtx = 1;
  readsDone = 0;
  writesAcked = 0;

  constructor(
    private readonly rng: Rng,
    private readonly nodes: SimNode[],
    private readonly checker: Checker,
    clients: number,
    private readonly keys: number,
  ) {
    for (let c = 0; c < clients; c++) {
      this.clients.push({ id: c, seq: 0, op: null, nextAt: rng.int(0, 50), final: null });
    }
  }

  run(now: number): void {
    for (const c of this.clients) {
      if (c.final) this.runFinal(now, c);
      else this.runClient(now, c);
    }
  }

  /** Faults are over: every client now owes one final write. */
  beginFinal(): void {
    for (const c of this.clients) {
      c.final = {
        seq: 1_000_000 + c.id,
        key: `k${c.id % this.keys}`,
        value: `final-${c.id}`,
        lastTry: -Infinity,
        done: false,
      };
    }
  }

  /** Final writes not yet committed. */
  pendingFinal(): number {
    return this.clients.filter((c) => !c.final?.done).length;
  }

  private runClient(now: number, c: Client): void {
    const op = c.op;
    if (op) {
      if (!op.node.up || now - op.start > OP_TIMEOUT_STEPS) c.op = null; // indeterminate
      return;
    }
    if (now < c.nextAt) return;
    c.nextAt = now + this.rng.int(1, 40);
    const up = this.nodes.filter((n) => n.up);
    if (up.length === 0) return;
    const node = this.rng.pick(up);
    const key = `k${this.rng.int(0, this.keys - 1)}`;
    if (this.rng.chance(0.6)) {
      const seq = ++c.seq;
      const value = `c${c.id}s${seq}`;
      const res = node.raft!.propose(encodeCommand({ c: c.id, s: seq, k: key, v: value }));
      if (res.type !== "ok" && res.type !== "forwarded") return; // refused: not applied
      const write: WriteRecord = { key, value, revision: 0, ackedAt: Infinity };
      const list = this.writesByKey.get(key);
      if (list) list.push(write);
      else this.writesByKey.set(key, [write]);
      this.writeByValue.set(value, write);
      c.op = { kind: "put", node, seq, key, value, start: now, write };
    } else {
      const ctx = this.nextCtx++;
      c.op = { kind: "get", node, ctx, key, start: now, index: -1 };
      node.raft!.readIndex(ctx);
    }
  }

  private runFinal(now: number, c: Client): void {
    const f = c.final!;
    if (f.done || now - f.lastTry < RETRY_STEPS) return;
    const up = this.nodes.filter((n) => n.up);
    const node = this.rng.pick(up);
    f.lastTry = now;
    const res = node.raft!.propose(encodeCommand({ c: c.id, s: f.seq, k: f.key, v: f.value }));
    // Refused at once (no leader known there, e.g. a server removed from the cluster that has
    // not heard so): a client tries another server right away rather than after RETRY_STEPS.
    if (res.type !== "ok" && res.type !== "forwarded") f.lastTry = -Infinity;
  }

  onApplied(now: number, node: SimNode, e: Entry, revision: number): void {
    if (e.type !== "normal") {
      this.finishReads(now, node);
      return;
    }
    const cmd = decodeCommand(e.data);
    const c = this.clients[cmd.c];
    if (c.final && c.final.seq === cmd.s) c.final.done = true;
    const op = c.op;
    if (op?.kind === "put" && op.node === node && op.seq === cmd.s && revision > 0) {
      op.write.revision = revision;
      op.write.ackedAt = now;
      this.writesAcked++;
      c.op = null;
    }
    // Any write that took effect gets its revision, acknowledged or not.
    const w = this.writeByValue.get(cmd.v);
    if (w && revision === e.index) w.revision = revision;
    this.finishReads(now, node);
  }

  onReadState(now: number, node: SimNode, rs: ReadState): void {
    for (const c of this.clients) {
      const op = c.op;
      if (op?.kind !== "get" || op.ctx !== rs.ctx || op.node !== node) continue;
      if (rs.index === 0) c.op = null; // refused: retry later
      else op.index = rs.index;
    }
    this.finishReads(now, node);
  }

  /** Completes reads whose read index the server has applied. */
  private finishReads(now: number, node: SimNode): void {
    for (const c of this.clients) {
      const op = c.op;
      if (op?.kind !== "get" || op.node !== node || op.index < 0) continue;
      if (node.sm.applied < op.index) continue;
      const seen = node.sm.kv.get(op.key)?.rev ?? 0;
      this.checker.checkRead(now, op.key, op.start, seen, this.writesByKey.get(op.key) ?? []);
      this.readsDone++;
      c.op = null;
    }
  }
}
