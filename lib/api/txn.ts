// POST /v1/txn — etcd-style transactions: if every compare holds run `success`, else
// `failure`; atomically, as one log entry (the state machine's txn command), so all writes
// share one revision. Any node accepts it (followers forward it); Idempotency-Key as for PUT.

import type { Hono } from "hono";
import type { CommandResult, TxnOpResult } from "../kv/mod.ts";
import type { WriteCommand } from "../replica/replica.ts";
import {
  idempotencyConflict,
  parseIdempotencyKey,
  problem,
  readJsonBody,
  type RouteDeps,
  timedOut,
  unavailable,
  valueFields,
} from "./route_support.ts";
import { parseTxnBody } from "./txn_schema.ts";

/** The JSON body may be this much larger than the values it carries (keys, base64, escapes). */
export const TXN_BODY_OVERHEAD_BYTES = 1024 * 1024;

export type TxnOpJson =
  | { op: "put"; revision: number; version: number }
  | { op: "get"; found: false }
  | (
    & { op: "get"; found: true; revision: number; version: number }
    & (
      | { value: string }
      | { valueBase64: string }
    )
  )
  | { op: "delete"; deleted: boolean };

export interface TxnJson {
  succeeded: boolean;
  revision: number;
  results: TxnOpJson[];
}

export function registerTxnRoute(app: Hono, deps: RouteDeps): void {
  // Base64 makes values 4/3 larger; JSON escapes can do worse (send binary as base64).
  const bodyBytesMax = 2 * deps.maxValueBytes + TXN_BODY_OVERHEAD_BYTES;

  app.post("/v1/txn", async (c) => {
    const idempotency = parseIdempotencyKey(c);
    if (!idempotency.ok) return problem(idempotency.status, idempotency.detail);
    const redirect = deps.redirectIfFollower(c);
    if (redirect) return redirect;
    const body = await readJsonBody(c.req.raw, bodyBytesMax, undefined, " for a transaction");
    if (body instanceof Response) return body;
    const parts = parseTxnBody(body.value, {
      opsMax: deps.replica.sm.limits.txnOpsMax,
      maxKeyBytes: deps.maxKeyBytes,
      maxValueBytes: deps.maxValueBytes,
    });
    if (!parts.ok) return problem(parts.status, parts.detail);
    const command: WriteCommand = { type: "txn", ...parts.value, ...idempotency.value };
    const outcome = await deps.replica.write(command);
    switch (outcome.type) {
      case "unavailable":
        return unavailable(outcome.reason);
      case "timeout":
        return timedOut();
      case "applied":
        return txnResponse(outcome.result);
    }
  });
}

function txnResponse(r: CommandResult): Response {
  switch (r.type) {
    case "txn": {
      const body: TxnJson = {
        succeeded: r.succeeded,
        revision: r.revision,
        results: r.results.map(opJson),
      };
      return Response.json(body);
    }
    case "invalid":
      return problem(400, r.reason);
    case "error":
      return problem(500, `the transaction could not be applied: ${r.reason}`);
    default:
      // An idempotency key reused for a different kind of write replays that write's result.
      return idempotencyConflict(r, "transaction");
  }
}

function opJson(r: TxnOpResult): TxnOpJson {
  switch (r.type) {
    case "put":
      return { op: "put", revision: r.revision, version: r.version };
    case "get":
      return r.kv === null ? { op: "get", found: false } : {
        op: "get",
        found: true,
        ...valueFields(r.kv.value),
        revision: r.kv.modRevision,
        version: r.kv.version,
      };
    case "delete":
      return { op: "delete", deleted: r.deleted };
  }
}
