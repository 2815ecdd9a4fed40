// The commands carried in Raft log entries (`normal` entries' data): MessagePack of a versioned
// envelope, validated with zod on decode. decodeCommand never throws: a replica that meets
// bytes it cannot read applies them as a no-op with an error result, like every other replica.
//
// Limits that depend on configuration (key and value size, ops per txn) are NOT checked here
// but when applying (an `invalid` result carrying the reqId, so the proposer gets an answer).
// The schema only rejects what is structurally wrong.

import { Decoder, Encoder } from "@msgpack/msgpack";
import { z } from "zod";

/** The envelope version this build writes and reads. */
export const COMMAND_VERSION = 1;

/** Structural caps applied while decoding; generous, the real limits live in KvLimits. */
export const reqIdLengthMax = 128;
export const idempotencyKeyLengthMax = 256;
/** Ops (and compares) in one txn branch that decoding accepts at all. */
export const txnListLengthMax = 4_096;
/** Longest TTL: 100 years. Keeps `time + ttlMs` a safe integer. */
export const ttlMsMax = 100 * 365 * 24 * 3600 * 1000;
/** Longest string decoding accepts: longer keys are corrupt rather than merely over a limit. */
const stringLengthMax = 64 * 1024;

interface CommandBase {
  /** The leader's clock when it proposed (ms since the epoch). The only time source. */
  time: number;
  /** Unique per proposal from the proposing node: matches the applied result to its caller. */
  reqId: string;
  /** Exactly once: a second command with this key returns the first one's result. */
  idempotencyKey?: string;
}

export interface PutCommand extends CommandBase {
  type: "put";
  key: string;
  value: Uint8Array;
  ttlMs?: number;
  /** Compare-and-swap: the key's current modRevision must equal this. */
  ifRevision?: number;
  /** Create only: the key must be absent. */
  ifAbsent?: boolean;
  /** Compare-and-swap on the per-key version (the text protocol's `cas`). */
  ifVersion?: number;
}

export interface DeleteCommand extends CommandBase {
  type: "delete";
  key: string;
  ifRevision?: number;
}

export type CompareOp = "==" | "!=" | "<" | ">";

/** One txn guard. On an absent key version and revision are 0 and a value compare is false. */
export type Compare =
  | { key: string; target: "value"; op: CompareOp; value: Uint8Array }
  | { key: string; target: "version" | "revision"; op: CompareOp; value: number }
  | { key: string; target: "exists"; op: "==" | "!="; value: boolean };

export type TxnOp =
  | { type: "put"; key: string; value: Uint8Array; ttlMs?: number }
  | { type: "get"; key: string }
  | { type: "delete"; key: string };

export interface TxnCommand extends CommandBase {
  type: "txn";
  compare: Compare[];
  success: TxnOp[];
  failure: TxnOp[];
}

/** Removes expired keys; the leader proposes it periodically so storage does not grow. */
export interface SweepCommand extends CommandBase {
  type: "sweep";
}

export type Command = PutCommand | DeleteCommand | TxnCommand | SweepCommand;
export type CommandType = Command["type"];

export type DecodeCommandResult =
  | { type: "ok"; command: Command }
  /** `reqId` is recovered when the bytes were a map with a usable reqId, so the proposer hears. */
  | { type: "error"; reason: string; reqId: string | null };

// ---------------------------------------------------------------------------
// Schema

// z.custom rather than z.instanceof: the latter narrows to Uint8Array<ArrayBuffer>.
const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "expected bytes");
const count = z.int().nonnegative();
const positive = z.int().positive();
const key = z.string();
const ttlMs = z.int().min(1).max(ttlMsMax);
const compareOp = z.enum(["==", "!=", "<", ">"]);

const base = {
  v: z.literal(COMMAND_VERSION),
  time: z.int().nonnegative().max(Number.MAX_SAFE_INTEGER - ttlMsMax),
  reqId: z.string().min(1).max(reqIdLengthMax),
  idempotencyKey: z.string().min(1).max(idempotencyKeyLengthMax).optional(),
};

const compareSchema = z.discriminatedUnion("target", [
  z.strictObject({ key, target: z.literal("value"), op: compareOp, value: bytes }),
  z.strictObject({ key, target: z.enum(["version", "revision"]), op: compareOp, value: count }),
  z.strictObject({
    key,
    target: z.literal("exists"),
    op: z.enum(["==", "!="]),
    value: z.boolean(),
  }),
]);

const txnOpSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("put"), key, value: bytes, ttlMs: ttlMs.optional() }),
  z.strictObject({ type: z.literal("get"), key }),
  z.strictObject({ type: z.literal("delete"), key }),
]);

const commandSchema = z.discriminatedUnion("type", [
  z.strictObject({
    ...base,
    type: z.literal("put"),
    key,
    value: bytes,
    ttlMs: ttlMs.optional(),
    ifRevision: positive.optional(),
    ifAbsent: z.boolean().optional(),
    ifVersion: positive.optional(),
  }),
  z.strictObject({ ...base, type: z.literal("delete"), key, ifRevision: positive.optional() }),
  z.strictObject({
    ...base,
    type: z.literal("txn"),
    compare: z.array(compareSchema).max(txnListLengthMax),
    success: z.array(txnOpSchema).max(txnListLengthMax),
    failure: z.array(txnOpSchema).max(txnListLengthMax),
  }),
  z.strictObject({ ...base, type: z.literal("sweep") }),
]);

// Compile-time guard: the schema and the Command type must not drift apart.
type Decoded = DistributiveOmit<z.output<typeof commandSchema>, "v">;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
const _schemaMatchesType: [Decoded] extends [Command] ? ([Command] extends [Decoded] ? true : never)
  : never = true;
void _schemaMatchesType;

// ---------------------------------------------------------------------------
// Codec

// ignoreUndefined: an absent optional field and an `undefined` one encode the same way.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder({
  maxStrLength: stringLengthMax,
  maxArrayLength: txnListLengthMax,
  maxMapLength: 16,
  maxExtLength: 0,
});

/** The bytes to propose for `command`. */
export function encodeCommand(command: Command): Uint8Array {
  return encoder.encode({ v: COMMAND_VERSION, ...command });
}

/** Parses log entry data. Byte fields of the command are views into `data`: copy to keep. */
export function decodeCommand(data: Uint8Array): DecodeCommandResult {
  let raw: unknown;
  try {
    raw = decoder.decode(data);
  } catch (e) {
    return { type: "error", reason: `not MessagePack: ${errorText(e)}`, reqId: null };
  }
  const parsed = commandSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join(".") : "command";
    return { type: "error", reason: `${where}: ${issue.message}`, reqId: salvageReqId(raw) };
  }
  const { v: _v, ...command } = parsed.data;
  return { type: "ok", command };
}

function salvageReqId(raw: unknown): string | null {
  if (typeof raw !== "object" || raw === null || !("reqId" in raw)) return null;
  const reqId = raw.reqId;
  return typeof reqId === "string" && reqId.length > 0 && reqId.length <= reqIdLengthMax
    ? reqId
    : null;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
