// Limits of the state machine. They are part of the replicated semantics: every replica of a
// cluster must run with the same values, or an over-limit command could succeed on one replica
// and be refused on another.

import type { Command, Compare, TxnOp } from "./commands.ts";
import { keyProblem } from "./keys.ts";
import { assertNever } from "./assert.ts";

export interface KvLimits {
  /** UTF-8 bytes of a key (API: 1–1024). */
  keyBytesMax: number;
  /** Bytes of a value (API default 1 MiB, configurable). */
  valueBytesMax: number;
  /** Compares, success ops and failure ops of one txn, each. */
  txnOpsMax: number;
  /** Entries in the idempotency table; the oldest go first. */
  idempotencyEntriesMax: number;
  /** Encoded bytes of results held by the idempotency table. */
  idempotencyBytesMax: number;
  /** How long (leader time) a recorded result answers retries. */
  idempotencyTtlMs: number;
  /** Keys one sweep removes at most; the rest wait for the next sweep. */
  sweepKeysMax: number;
  /** Items one range read returns at most. */
  rangeLimitMax: number;
}

export const defaultKvLimits: KvLimits = {
  keyBytesMax: 1024,
  valueBytesMax: 1024 * 1024,
  txnOpsMax: 128,
  idempotencyEntriesMax: 100_000,
  idempotencyBytesMax: 64 * 1024 * 1024,
  idempotencyTtlMs: 10 * 60 * 1000,
  sweepKeysMax: 10_000,
  rangeLimitMax: 10_000,
};

/** Why `command` breaks a limit, or null if it does not. */
export function commandProblem(command: Command, limits: KvLimits): string | null {
  switch (command.type) {
    case "put":
      return keyProblem(command.key, limits.keyBytesMax) ??
        valueProblem(command.value, limits.valueBytesMax);
    case "delete":
      return keyProblem(command.key, limits.keyBytesMax);
    case "txn":
      return txnProblem(command.compare, command.success, command.failure, limits);
    case "sweep":
      return null;
    default:
      return assertNever(command, "command");
  }
}

function valueProblem(value: Uint8Array, valueBytesMax: number): string | null {
  return value.byteLength > valueBytesMax
    ? `value of ${value.byteLength} bytes exceeds ${valueBytesMax}`
    : null;
}

function txnProblem(
  compare: readonly Compare[],
  success: readonly TxnOp[],
  failure: readonly TxnOp[],
  limits: KvLimits,
): string | null {
  const lists = { compare, success, failure };
  for (const [name, list] of Object.entries(lists)) {
    if (list.length > limits.txnOpsMax) {
      return `txn ${name} has ${list.length} entries, more than ${limits.txnOpsMax}`;
    }
  }
  for (const c of compare) {
    const problem = keyProblem(c.key, limits.keyBytesMax) ??
      (c.target === "value" ? valueProblem(c.value, limits.valueBytesMax) : null);
    if (problem !== null) return `compare: ${problem}`;
  }
  for (const op of [...success, ...failure]) {
    const problem = keyProblem(op.key, limits.keyBytesMax) ??
      (op.type === "put" ? valueProblem(op.value, limits.valueBytesMax) : null);
    if (problem !== null) return `${op.type}: ${problem}`;
  }
  return null;
}
