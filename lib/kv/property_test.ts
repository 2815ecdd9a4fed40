// Seeded property test: random command streams (every kind, TTLs, CAS, txns, idempotency keys,
// sweeps, no-ops, garbage bytes, a leader clock that sometimes steps back) applied to one
// machine, and from a mid-way snapshot to a second: every later result and event and the final
// snapshot bytes must be identical. The events alone must also rebuild the final key space.

import assert from "node:assert/strict";
import { type Command, type Compare, encodeCommand, type TxnOp } from "./commands.ts";
import type { KvLimits } from "./limits.ts";
import { decodeSnapshot } from "./snapshot.ts";
import { KvStateMachine } from "./state_machine.ts";
import { seededRandom } from "./test_helpers.ts";

const SEEDS = 25;
const ENTRIES = 400;
// Small limits so eviction, sweep caps and invalid commands all happen.
const limits: Partial<KvLimits> = {
  valueBytesMax: 48,
  txnOpsMax: 4,
  idempotencyEntriesMax: 6,
  idempotencyTtlMs: 3000,
  sweepKeysMax: 3,
};
const keys = ["a", "a/1", "a/2", "b", "é", "\uffff", "\u{10000}", "zz"];

type Entry = { type: "noop" } | { type: "data"; data: Uint8Array };

class Generator {
  #random: () => number;
  #timeMs = 1_700_000_000_000;
  #seq = 0;

  constructor(seed: number) {
    this.#random = seededRandom(seed);
  }

  entry(): Entry {
    const roll = this.#random();
    if (roll < 0.05) return { type: "noop" };
    if (roll < 0.08) return { type: "data", data: this.#bytes(1 + this.#int(8)) }; // garbage
    this.#timeMs += this.#random() < 0.05 ? -this.#int(2000) : this.#int(400);
    return { type: "data", data: encodeCommand(this.#command()) };
  }

  #command(): Command {
    const base = {
      time: this.#timeMs,
      reqId: `r${++this.#seq}`,
      idempotencyKey: this.#random() < 0.3 ? `I${this.#int(10)}` : undefined,
    };
    const roll = this.#random();
    if (roll < 0.45) {
      return {
        ...base,
        type: "put",
        key: this.#key(),
        value: this.#bytes(this.#int(56)), // sometimes over valueBytesMax
        ttlMs: this.#maybe(0.4, () => 1 + this.#int(3000)),
        ifRevision: this.#maybe(0.1, () => 1 + this.#int(this.#seq + 1)),
        ifAbsent: this.#maybe(0.1, () => true),
        ifVersion: this.#maybe(0.1, () => 1 + this.#int(4)),
      };
    }
    if (roll < 0.65) {
      const ifRevision = this.#maybe(0.2, () => 1 + this.#int(this.#seq + 1));
      return { ...base, type: "delete", key: this.#key(), ifRevision };
    }
    if (roll < 0.9) {
      const ops = () => Array.from({ length: this.#int(6) }, () => this.#op());
      const compare = Array.from({ length: this.#int(3) }, () => this.#compare());
      return { ...base, type: "txn", compare, success: ops(), failure: ops() };
    }
    return { ...base, type: "sweep" };
  }

  #compare(): Compare {
    const key = this.#key();
    const op = (["==", "!=", "<", ">"] as const)[this.#int(4)];
    switch (this.#int(4)) {
      case 0:
        return { key, target: "value", op, value: this.#bytes(this.#int(3)) };
      case 1:
        return { key, target: "version", op, value: this.#int(4) };
      case 2:
        return { key, target: "revision", op, value: this.#int(this.#seq + 1) };
      default:
        return { key, target: "exists", op: this.#random() < 0.5 ? "==" : "!=", value: true };
    }
  }

  #op(): TxnOp {
    const key = this.#key();
    const roll = this.#random();
    if (roll < 0.5) {
      const ttlMs = this.#maybe(0.3, () => 1 + this.#int(2000));
      return { type: "put", key, value: this.#bytes(this.#int(8)), ttlMs };
    }
    return roll < 0.75 ? { type: "get", key } : { type: "delete", key };
  }

  #key(): string {
    return keys[this.#int(keys.length)];
  }

  #int(n: number): number {
    return Math.floor(this.#random() * n);
  }

  #bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.#int(256));
  }

  #maybe<T>(p: number, make: () => T): T | undefined {
    return this.#random() < p ? make() : undefined;
  }
}

function applyEntry(machine: KvStateMachine, entry: Entry) {
  const index = machine.appliedIndex + 1;
  if (entry.type === "noop") {
    machine.applyNoop(index);
    return null;
  }
  return machine.apply(index, entry.data);
}

/** The key space as the events describe it: key → [value bytes, version]. */
function replayEvents(events: ReturnType<typeof applyEntry>[]): Map<string, [number[], number]> {
  const model = new Map<string, [number[], number]>();
  for (const applied of events) {
    for (const event of applied?.events ?? []) {
      if (event.type === "put") model.set(event.key, [[...event.value], event.version]);
      else model.delete(event.key);
    }
  }
  return model;
}

Deno.test("property: a replica restored from a mid-way snapshot ends byte-identical", () => {
  let results = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const generator = new Generator(seed);
    const entries = Array.from({ length: ENTRIES }, () => generator.entry());
    const split = 1 + (seed * 37) % (ENTRIES - 1);
    const a = new KvStateMachine(limits);
    const appliedA = entries.slice(0, split).map((entry) => applyEntry(a, entry));
    const b = KvStateMachine.restore(a.snapshot(), limits);
    for (const [i, entry] of entries.slice(split).entries()) {
      const fromA = applyEntry(a, entry);
      const fromB = applyEntry(b, entry);
      assert.deepEqual(fromB, fromA, `seed ${seed}: results differ at index ${split + i + 1}`);
      appliedA.push(fromA);
    }
    const snapshotA = a.snapshot();
    assert.deepEqual(b.snapshot(), snapshotA, `seed ${seed}: final snapshots differ`);
    assert.deepEqual(b.range({}, 0), a.range({}, 0), `seed ${seed}: reads differ`);

    const model = replayEvents(appliedA);
    const records = decodeSnapshot(snapshotA).records;
    const state = new Map(records.map((kv) => [kv.key, [[...kv.value], kv.version]]));
    assert.deepEqual(state, model, `seed ${seed}: events do not describe the state`);
    results += appliedA.filter((applied) => applied?.result.type === "txn").length;
  }
  assert.ok(results > 100, "the generator exercises txns");
});

Deno.test("property: the generator covers every result type", () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= 5; seed++) {
    const generator = new Generator(seed);
    const machine = new KvStateMachine(limits);
    for (let i = 0; i < ENTRIES; i++) {
      const applied = applyEntry(machine, generator.entry());
      if (applied === null) continue;
      seen.add(applied.replayed ? "replayed" : applied.result.type);
      for (const event of applied.events) seen.add(`event:${event.type}`);
    }
  }
  const expected = [
    "put",
    "delete",
    "notFound",
    "failed",
    "txn",
    "sweep",
    "invalid",
    "error",
    "replayed",
    "event:put",
    "event:delete",
    "event:expire",
  ];
  assert.deepEqual([...seen].sort(), expected.sort());
});
