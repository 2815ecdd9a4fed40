// A simulated network: every message gets a random delay (so messages reorder), may be
// dropped or duplicated, and partitions block directed links (symmetric or one-way).

import type { Message, NodeId } from "../../lib/raft/mod.ts";
import type { Rng } from "../rng.ts";

export interface NetworkFaults {
  dropRate: number;
  duplicateRate: number;
  delayMin: number;
  delayMax: number;
}

export class SimNetwork {
  private queue = new Map<number, Message[]>();
  /** Blocked directed links, as "from>to". */
  private blocked = new Set<string>();
  faults: NetworkFaults;
  sent = 0;
  dropped = 0;
  delivered = 0;

  constructor(private readonly rng: Rng, faults: NetworkFaults) {
    this.faults = { ...faults };
  }

  send(now: number, m: Message): void {
    this.sent++;
    if (this.blocked.has(`${m.from}>${m.to}`) || this.rng.chance(this.faults.dropRate)) {
      this.dropped++;
      return;
    }
    this.enqueue(now, m);
    if (this.rng.chance(this.faults.duplicateRate)) this.enqueue(now, m);
  }

  private enqueue(now: number, m: Message): void {
    const at = now + this.rng.int(this.faults.delayMin, this.faults.delayMax);
    const bucket = this.queue.get(at);
    if (bucket) bucket.push(m);
    else this.queue.set(at, [m]);
  }

  /** Messages due at `now`; a link cut while a message was in flight loses it too. */
  take(now: number): Message[] {
    const due = this.queue.get(now) ?? [];
    this.queue.delete(now);
    const out = due.filter((m) => !this.blocked.has(`${m.from}>${m.to}`));
    this.dropped += due.length - out.length;
    this.delivered += out.length;
    return out;
  }

  /** Cuts every link between the two groups; one-way cuts only `from` → `to`. */
  partition(a: NodeId[], b: NodeId[], oneWay: boolean): void {
    for (const x of a) {
      for (const y of b) {
        this.blocked.add(`${x}>${y}`);
        if (!oneWay) this.blocked.add(`${y}>${x}`);
      }
    }
  }

  /** Loses every undelivered message from `id`: a crashed server's send buffers die with it. */
  dropFrom(id: NodeId): void {
    for (const [at, bucket] of this.queue) {
      const kept = bucket.filter((m) => m.from !== id);
      this.dropped += bucket.length - kept.length;
      this.queue.set(at, kept);
    }
  }

  /** Cuts every link to and from `id`; what it had in flight is lost with the links. */
  isolate(id: NodeId, all: NodeId[]): void {
    this.partition([id], all.filter((x) => x !== id), false);
  }

  /** Restores every link to and from `id` (other cuts stay). */
  reconnect(id: NodeId): void {
    for (const link of [...this.blocked]) {
      const [from, to] = link.split(">");
      if (from === id || to === id) this.blocked.delete(link);
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  isPartitioned(): boolean {
    return this.blocked.size > 0;
  }
}
