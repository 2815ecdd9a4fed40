// `deno bench lib/kv/` — snapshot/restore of 100k keys and apply throughput. Not run by tests.

import { encodeCommand } from "./commands.ts";
import { KvStateMachine } from "./state_machine.ts";

const KEYS = 100_000;
const value = new Uint8Array(100).fill(7);
const t0 = 1_700_000_000_000;

function loaded(): KvStateMachine {
  const machine = new KvStateMachine();
  for (let i = 0; i < KEYS; i++) {
    const key = `key/${(i * 7919 % KEYS).toString().padStart(6, "0")}`; // not in key order
    const ttlMs = i % 10 === 0 ? 3_600_000 : undefined;
    const command = { type: "put", key, value, ttlMs, time: t0 + i, reqId: `r${i}` } as const;
    machine.apply(i + 1, encodeCommand(command));
  }
  return machine;
}

const machine = loaded();
const image = machine.snapshot();

Deno.bench("snapshot() of 100k keys (100-byte values)", () => {
  machine.snapshot();
});

Deno.bench("restore() of 100k keys (100-byte values)", () => {
  KvStateMachine.restore(image);
});

Deno.bench("apply: 10k puts over 100k existing keys", () => {
  const m = KvStateMachine.restore(image);
  for (let i = 0; i < 10_000; i++) {
    const key = `key/${(i * 31 % KEYS).toString().padStart(6, "0")}`;
    const command = { type: "put", key, value, time: t0 + KEYS + i, reqId: `w${i}` } as const;
    m.apply(m.appliedIndex + 1, encodeCommand(command));
  }
});

Deno.bench("apply: 10k creates then 10k deletes of new keys", () => {
  const m = KvStateMachine.restore(image);
  for (const type of ["put", "delete"] as const) {
    for (let i = 0; i < 10_000; i++) {
      const key = `new/${i}`;
      const time = t0 + KEYS + i;
      const command = type === "put"
        ? { type, key, value, time, reqId: `c${i}` }
        : { type, key, time, reqId: `d${i}` };
      m.apply(m.appliedIndex + 1, encodeCommand(command));
    }
  }
});
