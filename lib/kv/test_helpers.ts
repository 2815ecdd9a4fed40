// Shared by the tests of this folder: a driver that stamps commands the way a leader would
// (time, reqId, consecutive indexes) and feeds them to a state machine.

import {
  type Command,
  type Compare,
  type DeleteCommand,
  encodeCommand,
  type PutCommand,
  type TxnOp,
} from "./commands.ts";
import type { Applied } from "./results.ts";
import { KvStateMachine } from "./state_machine.ts";
import type { KvLimits } from "./limits.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | null): string => b === null ? "" : new TextDecoder().decode(b);

/** A plain union of command shapes without the stamped fields. */
export type Unstamped =
  | Omit<PutCommand, "time" | "reqId">
  | Omit<DeleteCommand, "time" | "reqId">
  | { type: "txn"; compare: Compare[]; success: TxnOp[]; failure: TxnOp[]; idempotencyKey?: string }
  | { type: "sweep"; idempotencyKey?: string };

export class Driver {
  machine: KvStateMachine;
  timeMs = 1_700_000_000_000;
  #reqSeq = 0;

  constructor(limits: Partial<KvLimits> = {}, machine?: KvStateMachine) {
    this.machine = machine ?? new KvStateMachine(limits);
  }

  get nextIndex(): number {
    return this.machine.appliedIndex + 1;
  }

  /** Stamps and encodes a command as the leader would. */
  stamp(command: Unstamped): Command {
    return { ...command, time: this.timeMs, reqId: `r${++this.#reqSeq}` } as Command;
  }

  run(command: Unstamped): Applied {
    return this.raw(encodeCommand(this.stamp(command)));
  }

  raw(data: Uint8Array): Applied {
    return this.machine.apply(this.nextIndex, data);
  }

  put(key: string, value: string, extra: Partial<PutCommand> = {}): Applied {
    return this.run({ type: "put", key, value: enc(value), ...extra });
  }

  del(key: string, extra: Partial<DeleteCommand> = {}): Applied {
    return this.run({ type: "delete", key, ...extra });
  }

  txn(compare: Compare[], success: TxnOp[], failure: TxnOp[] = []): Applied {
    return this.run({ type: "txn", compare, success, failure });
  }

  sweep(): Applied {
    return this.run({ type: "sweep" });
  }

  noop(): void {
    this.machine.applyNoop(this.nextIndex);
  }

  advance(ms: number): void {
    this.timeMs += ms;
  }
}

export { mulberry32 as seededRandom } from "../../test/rng.ts";
