// Concurrent clients doing put/get/CAS/delete on a small key set, each request to a random
// node, each operation recorded in the history with what its answer proves:
//
//   200 / 404 / 412         determinate (the operation happened, with this result)
//   503                     not applied: raftkv answers 503 only before proposing (no leader
//                           known, overloaded, stopping; lib/replica/replica.ts write()), and a
//                           503 read changed nothing
//   connection refused      not applied: the request never reached a node
//   504, timeout, reset,    indeterminate: the write may have been applied, now or later
//   any other status

import type { Rng } from "../rng.ts";
import type { HttpResult } from "../cluster/kv_client.ts";
import { sendKv } from "./http.ts";
import type { History, HistoryOp, OpKind, Outcome } from "./history.ts";

export interface WorkloadOptions {
  clients: number;
  keys: number;
  rng: Rng;
  history: History;
  /** Node ids to send requests to (any of them, running or not). */
  nodes: readonly string[];
  /** A node's client URL ("http://127.0.0.1:port"). */
  endpoint: (node: string) => string;
  /** Must not pool connections (http.ts freshConnectionClient). */
  http: Deno.HttpClient;
  /** A request without an answer after this is indeterminate. */
  opTimeoutMs: number;
  /** Pause between one client's operations, uniform in [0, thinkMs). */
  thinkMs: number;
  /**
   * Read with ?consistency=serializable (each replica's local state, possibly stale). Only to
   * show that the checker catches what that allows: such a run is expected to fail.
   */
  serializableReads?: boolean;
}

/** Pause after a refused operation (503 or connection refused). */
const REFUSED_BACKOFF_MS = 100;

export function keyName(i: number): string {
  return `k${i}`;
}

/** One operation's request, and what its answer means. */
export interface Request {
  kind: OpKind;
  node: string;
  key: string;
  value: string | null;
  expectRevision: number | null;
}

export class Workload {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly o: WorkloadOptions) {}

  start(): void {
    for (let c = 0; c < this.o.clients; c++) {
      this.loops.push(this.clientLoop(`c${c}`, this.o.rng.fork()));
    }
  }

  /** Stops starting operations and waits for those in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async clientLoop(name: string, rng: Rng): Promise<void> {
    /** The revision this client last saw per key, with the value (for CAS). */
    const known = new Map<string, number>();
    let seq = 0;
    while (!this.stopped) {
      const key = keyName(rng.int(0, this.o.keys - 1));
      const roll = rng.next();
      const expectRevision = known.get(key) ?? null;
      const kind: OpKind = roll < 0.4
        ? "get"
        : roll < 0.65
        ? "put"
        : roll < 0.9
        ? (expectRevision === null ? "put" : "cas")
        : "delete";
      const request: Request = {
        kind,
        node: rng.pick(this.o.nodes),
        key,
        value: kind === "put" || kind === "cas" ? `${name}.${++seq}` : null,
        expectRevision: kind === "cas" ? expectRevision : null,
      };
      const op = await perform(this.o, name, request);
      learn(known, op);
      // A refusal says "retry shortly" (503 carries Retry-After): back off rather than spin.
      const backoffMs = op.outcome?.type === "failed" ? REFUSED_BACKOFF_MS : 0;
      const thinkMs = backoffMs + rng.next() * this.o.thinkMs;
      if (thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
    }
  }
}

/** Sends one request, recording its invocation and outcome in the history. */
export async function perform(
  o: Pick<WorkloadOptions, "history" | "endpoint" | "http" | "opTimeoutMs" | "serializableReads">,
  clientName: string,
  r: Request,
): Promise<HistoryOp> {
  const op = o.history.invoke({ client: clientName, ...r });
  const sent = await sendKv(o.http, o.endpoint(r.node), {
    method: r.kind === "get" ? "GET" : r.kind === "delete" ? "DELETE" : "PUT",
    key: r.key,
    body: r.value ?? undefined,
    headers: r.kind === "cas" ? { "if-match": `"${r.expectRevision}"` } : {},
    query: r.kind === "get" && o.serializableReads ? { consistency: "serializable" } : {},
    timeoutMs: o.opTimeoutMs,
  });
  let outcome: Outcome;
  switch (sent.type) {
    case "answered":
      outcome = classify(r.kind, sent.result);
      break;
    case "refused": // the request never left: nothing can have been applied
      outcome = { type: "failed", reason: "connection refused" };
      break;
    case "lost":
      outcome = { type: "unknown", reason: sent.message };
      break;
  }
  o.history.complete(op, outcome);
  return op;
}

/** What an HTTP answer proves (see the file comment). */
export function classify(kind: OpKind, result: HttpResult): Outcome {
  const status = result.status;
  if (status === 503) return { type: "failed", reason: `503 ${problemDetail(result)}` };
  if (status === 404 && (kind === "get" || kind === "delete")) return { type: "absent" };
  if (status === 200) {
    switch (kind) {
      case "get":
        return {
          type: "value",
          value: result.text,
          revision: headerNumber(result, "etag"),
          version: headerNumber(result, "x-kv-version"),
          storeRevision: headerNumber(result, "x-kv-revision"),
        };
      case "put":
      case "cas": {
        const body = result.json() as { revision: number; version: number };
        return { type: "written", revision: body.revision, version: body.version };
      }
      case "delete":
        return { type: "deleted", revision: (result.json() as { revision: number }).revision };
    }
  }
  if (status === 412 && kind === "cas") {
    const body = result.json() as { currentRevision: number | null };
    return { type: "preconditionFailed", currentRevision: body.currentRevision };
  }
  return { type: "unknown", reason: `${status} ${problemDetail(result)}` };
}

function headerNumber(result: HttpResult, name: string): number {
  const text = (result.headers.get(name) ?? "").replaceAll('"', "");
  const value = Number(text);
  if (text === "" || !Number.isSafeInteger(value)) {
    throw new Error(`GET answered 200 without a numeric ${name} header`);
  }
  return value;
}

function problemDetail(result: HttpResult): string {
  try {
    return String((result.json() as { detail?: unknown }).detail ?? "").slice(0, 200);
  } catch {
    return result.text.slice(0, 200);
  }
}

function learn(known: Map<string, number>, op: HistoryOp): void {
  const o = op.outcome;
  if (o?.type === "value" || o?.type === "written") known.set(op.key, o.revision);
  if (o?.type === "absent" || o?.type === "deleted") known.delete(op.key);
}
