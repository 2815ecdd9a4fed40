// The POST /v1/txn body (API.md §3 "Shapes"), validated with zod, then turned into the state
// machine's txn command. Every error names its field by path, e.g. `success[3].key`.

import { z } from "zod";
import { type Compare, keyProblem, type TxnOp, utf8Length } from "../kv/mod.ts";
import type { Parsed } from "./request.ts";
import { decodeBase64, formatPath, issueDetail } from "./route_support.ts";

export interface TxnLimits {
  /** Compares, success ops and failure ops, each (the state machine's txnOpsMax). */
  opsMax: number;
  maxKeyBytes: number;
  /** One value, and all values of the txn together: the entry must stay a sane size. */
  maxValueBytes: number;
}

/** The longest TTL, as for PUT ?ttl: 100 years. */
const TTL_SECONDS_MAX = 3_153_600_000;

const key = z.string({ error: "expected a string" }).min(1, "must not be empty");
const text = z.string({ error: "expected a string" });
const base64 = z.string({ error: "expected a base64 string" }).regex(
  /^[A-Za-z0-9+/]*={0,2}$/,
  "expected base64 (standard alphabet)",
);
const compareOp = z.enum(["==", "!=", "<", ">"], {
  error: () => 'expected "==", "!=", "<" or ">"',
});

/** Exactly one of `value` and `valueBase64`. */
function oneValue(v: { value?: string; valueBase64?: string }, ctx: z.RefinementCtx): void {
  if ((v.value === undefined) === (v.valueBase64 === undefined)) {
    ctx.addIssue({
      code: "custom",
      path: ["value"],
      message: "give exactly one of value (text) and valueBase64",
    });
  }
}

const compareSchema = z.discriminatedUnion("target", [
  z.strictObject({
    key,
    target: z.literal("value"),
    op: compareOp,
    value: text.optional(),
    valueBase64: base64.optional(),
  }).superRefine(oneValue),
  z.strictObject({
    key,
    target: z.enum(["version", "revision"]),
    op: compareOp,
    value: z.int({ error: "expected a non-negative integer" }).nonnegative(
      "expected a non-negative integer",
    ),
  }),
  z.strictObject({
    key,
    target: z.literal("exists"),
    op: z.enum(["==", "!="], { error: () => 'expected "==" or "!=" for exists' }),
    value: z.boolean({ error: "expected true or false" }),
  }),
], { error: () => 'expected "value", "version", "revision" or "exists"' });

const opSchema = z.discriminatedUnion("op", [
  z.strictObject({
    op: z.literal("put"),
    key,
    value: text.optional(),
    valueBase64: base64.optional(),
    ttl: z.int({ error: "expected whole seconds" }).min(1, "must be at least 1 second").max(
      TTL_SECONDS_MAX,
      "must be at most 100 years",
    ).optional(),
  }).superRefine(oneValue),
  z.strictObject({ op: z.literal("get"), key }),
  z.strictObject({ op: z.literal("delete"), key }),
], { error: () => 'expected "put", "get" or "delete"' });

export function txnBodySchema(opsMax: number) {
  const list = <T extends z.ZodType>(item: T, what: string) =>
    z.array(item, { error: "expected an array" }).max(opsMax, `at most ${opsMax} ${what}`)
      .default([]);
  return z.strictObject({
    compare: list(compareSchema, "compares"),
    success: list(opSchema, "operations"),
    failure: list(opSchema, "operations"),
  }, { error: "expected an object" });
}

export type TxnBody = z.output<ReturnType<typeof txnBodySchema>>;

export interface TxnParts {
  compare: Compare[];
  success: TxnOp[];
  failure: TxnOp[];
}

/** Checks a parsed txn body: 400 for bad input, 413 for a key or value too large. */
export function parseTxnBody(raw: unknown, limits: TxnLimits): Parsed<TxnParts> {
  const parsed = txnBodySchema(limits.opsMax).safeParse(raw);
  if (!parsed.success) return { ok: false, status: 400, detail: issueDetail(parsed.error) };
  return toParts(parsed.data, limits);
}

class TooLarge extends Error {}
class BadInput extends Error {}

function toParts(body: TxnBody, limits: TxnLimits): Parsed<TxnParts> {
  const totals = { valueBytes: 0 };
  try {
    const compare = body.compare.map((c, i) => toCompare(c, ["compare", i], limits, totals));
    const success = body.success.map((op, i) => toOp(op, ["success", i], limits, totals));
    const failure = body.failure.map((op, i) => toOp(op, ["failure", i], limits, totals));
    if (totals.valueBytes > limits.maxValueBytes) {
      return {
        ok: false,
        status: 413,
        detail:
          `body: the values of the transaction total ${totals.valueBytes} bytes, over the limit of ${limits.maxValueBytes} bytes`,
      };
    }
    return { ok: true, value: { compare, success, failure } };
  } catch (e) {
    if (e instanceof TooLarge) return { ok: false, status: 413, detail: e.message };
    if (e instanceof BadInput) return { ok: false, status: 400, detail: e.message };
    throw e;
  }
}

function checkKey(k: string, path: (string | number)[], limits: TxnLimits): string {
  const bytes = utf8Length(k);
  if (k.isWellFormed() && bytes > limits.maxKeyBytes) {
    throw new TooLarge(
      `${
        formatPath([...path, "key"])
      }: ${bytes} bytes is over the limit of ${limits.maxKeyBytes} bytes`,
    );
  }
  const why = keyProblem(k, limits.maxKeyBytes);
  if (why !== null) throw new BadInput(`${formatPath([...path, "key"])}: ${why}`);
  return k;
}

function toBytes(
  v: { value?: string; valueBase64?: string },
  path: (string | number)[],
  limits: TxnLimits,
  totals: { valueBytes: number },
): Uint8Array {
  const field = formatPath([...path, v.value !== undefined ? "value" : "valueBase64"]);
  let bytes: Uint8Array | null;
  if (v.value !== undefined) {
    if (!v.value.isWellFormed()) throw new BadInput(`${field}: not valid UTF-16 (lone surrogate)`);
    bytes = new TextEncoder().encode(v.value);
  } else {
    bytes = decodeBase64(v.valueBase64 ?? "");
    if (bytes === null) throw new BadInput(`${field}: expected base64 (standard alphabet)`);
  }
  if (bytes.byteLength > limits.maxValueBytes) {
    throw new TooLarge(
      `${field}: ${bytes.byteLength} bytes is over the limit of ${limits.maxValueBytes} bytes`,
    );
  }
  totals.valueBytes += bytes.byteLength;
  return bytes;
}

function toCompare(
  c: TxnBody["compare"][number],
  path: (string | number)[],
  limits: TxnLimits,
  totals: { valueBytes: number },
): Compare {
  const k = checkKey(c.key, path, limits);
  switch (c.target) {
    case "value":
      return { key: k, target: "value", op: c.op, value: toBytes(c, path, limits, totals) };
    case "version":
    case "revision":
      return { key: k, target: c.target, op: c.op, value: c.value };
    case "exists":
      return { key: k, target: "exists", op: c.op, value: c.value };
  }
}

function toOp(
  op: TxnBody["success"][number],
  path: (string | number)[],
  limits: TxnLimits,
  totals: { valueBytes: number },
): TxnOp {
  const k = checkKey(op.key, path, limits);
  switch (op.op) {
    case "put":
      return {
        type: "put",
        key: k,
        value: toBytes(op, path, limits, totals),
        ...(op.ttl !== undefined ? { ttlMs: op.ttl * 1000 } : {}),
      };
    case "get":
      return { type: "get", key: k };
    case "delete":
      return { type: "delete", key: k };
  }
}
