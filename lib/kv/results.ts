// What applying a command yields. Results are plain data: the idempotency table stores them
// (MessagePack) and hands the first one back on a retry, so they never hold `undefined`.

import { z } from "zod";
import type { KvEvent } from "./events.ts";

/** One key as stored. `value` is shared with the store: treat as read-only. */
export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the write that created the key (since it was last absent). */
  createRevision: number;
  /** Revision of the last write to the key: the ETag. */
  modRevision: number;
  /** 1 on creation, +1 per write; starts again at 1 after a delete or expiry. */
  version: number;
  /** Leader time (ms) at which the key expires, or null. */
  expiresAt: number | null;
}

export type FailedReason = "revision" | "exists" | "version";

/** A precondition did not hold. `current` is null when the key is absent. */
export interface FailedResult {
  type: "failed";
  reason: FailedReason;
  current: { revision: number; version: number } | null;
}

export type PutResult = { type: "put"; revision: number; version: number } | FailedResult;
export type DeleteResult =
  | { type: "delete"; revision: number }
  | { type: "notFound" }
  | FailedResult;

export type TxnOpResult =
  | { type: "put"; revision: number; version: number }
  | { type: "get"; kv: KeyValue | null }
  | { type: "delete"; deleted: boolean };

/** `revision` is the store's revision after the txn: the entry's index if it wrote anything. */
export interface TxnResult {
  type: "txn";
  succeeded: boolean;
  revision: number;
  results: TxnOpResult[];
}

/** `more` is true when expired keys remain beyond the per-sweep cap: sweep again. */
export interface SweepResult {
  type: "sweep";
  expired: number;
  more: boolean;
  revision: number;
}

/** A well-formed command over a limit (key or value size, ops per txn): nothing changed. */
export interface InvalidResult {
  type: "invalid";
  reason: string;
}

/** The entry's bytes were not a command: nothing changed. */
export interface ErrorResult {
  type: "error";
  reason: string;
}

export type CommandResult =
  | { type: "put"; revision: number; version: number }
  | { type: "delete"; revision: number }
  | { type: "notFound" }
  | FailedResult
  | TxnResult
  | SweepResult
  | InvalidResult
  | ErrorResult;

export type CommandResultType = CommandResult["type"];

/** Everything one `apply` produced. */
export interface Applied {
  index: number;
  /** The command's reqId (null if the bytes did not even yield one). */
  reqId: string | null;
  result: CommandResult;
  /** Changes in order; empty for failures, errors and idempotent replays. */
  events: KvEvent[];
  /** True when the result was recorded earlier under the same idempotency key. */
  replayed: boolean;
}

// ---------------------------------------------------------------------------
// Schema for results read back from the idempotency table (stored bytes, snapshot input).

const count = z.int().nonnegative();
const keyValue = z.strictObject({
  key: z.string(),
  value: z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes")
    .transform((v): Uint8Array => new Uint8Array(v)),
  createRevision: count,
  modRevision: count,
  version: count,
  expiresAt: count.nullable(),
});
const txnOpResult = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("put"), revision: count, version: count }),
  z.strictObject({ type: z.literal("get"), kv: keyValue.nullable() }),
  z.strictObject({ type: z.literal("delete"), deleted: z.boolean() }),
]);

export const commandResultSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("put"), revision: count, version: count }),
  z.strictObject({ type: z.literal("delete"), revision: count }),
  z.strictObject({ type: z.literal("notFound") }),
  z.strictObject({
    type: z.literal("failed"),
    reason: z.enum(["revision", "exists", "version"]),
    current: z.strictObject({ revision: count, version: count }).nullable(),
  }),
  z.strictObject({
    type: z.literal("txn"),
    succeeded: z.boolean(),
    revision: count,
    results: z.array(txnOpResult),
  }),
  z.strictObject({ type: z.literal("sweep"), expired: count, more: z.boolean(), revision: count }),
  z.strictObject({ type: z.literal("invalid"), reason: z.string() }),
  z.strictObject({ type: z.literal("error"), reason: z.string() }),
]);

type ParsedResult = z.output<typeof commandResultSchema>;
const _schemaMatchesType: [ParsedResult] extends [CommandResult]
  ? ([CommandResult] extends [ParsedResult] ? true : never)
  : never = true;
void _schemaMatchesType;
