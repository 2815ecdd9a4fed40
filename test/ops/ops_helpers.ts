// Helpers shared by the operations tests: a concurrent writer and reader, the restore command
// as a subprocess, node status polling and data-file sizes.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster } from "../cluster/harness.ts";
import { type KvClient, putAcked, type Status } from "../cluster/kv_client.ts";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const RESTORE_PATH = join(REPO_ROOT, "lib", "backup", "restore.ts");

/** Full-size runs (the numbers) when RAFTKV_SCALE=1; CI runs smaller ones. */
export function fullScale(): boolean {
  return Deno.env.get("RAFTKV_SCALE") === "1";
}

/**
 * Runs `task(i)` for i in [0, count) with `inFlight` at a time; resolves when all are done
 * (the first failure fails the whole run, once the tasks in flight have settled).
 */
export async function concurrently(
  count: number,
  inFlight: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(inFlight, count) }, worker),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Puts `count` keys (`keyOf(i)` = `valueOf(i)`), acknowledged, retried with an
 * Idempotency-Key; returns each write's revision and the rate. */
export async function putMany(
  client: (attempt: number) => KvClient,
  count: number,
  inFlight: number,
  keyOf: (i: number) => string,
  valueOf: (i: number) => string,
): Promise<{ revisions: number[]; perSecond: number }> {
  const revisions = new Array<number>(count);
  const started = performance.now();
  await concurrently(count, inFlight, async (i) => {
    revisions[i] = (await putAcked(client, keyOf(i), valueOf(i), 30_000)).revision;
  });
  const perSecond = Math.round(count / ((performance.now() - started) / 1000));
  return { revisions, perSecond };
}

/** `deno run -A lib/backup/restore.ts ...args` (the `deno task restore` command). */
export async function runRestoreCommand(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", RESTORE_PATH, ...args],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Polls `id`'s status until `ok` holds (or fails after `timeoutMs`). */
export async function waitForStatus(
  cluster: Cluster,
  id: string,
  what: string,
  timeoutMs: number,
  ok: (status: Status) => boolean,
): Promise<Status> {
  const deadline = performance.now() + timeoutMs;
  let last: Status | null = null;
  while (performance.now() < deadline) {
    last = await cluster.tryStatus(id);
    if (last !== null && ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${id}: ${what}; last status ${
      JSON.stringify(last)
    }`,
  );
}

/** Bytes of a node's Deno KV database on disk: the main file plus its write-ahead log. */
export async function kvFileBytes(dataDir: string): Promise<{ main: number; wal: number }> {
  const size = (name: string) => Deno.stat(join(dataDir, name)).then((info) => info.size, () => 0);
  return { main: await size("raft.kv"), wal: await size("raft.kv-wal") };
}

/** The unlabelled samples of a node's /metrics, by name. */
export async function metricValues(client: KvClient): Promise<Record<string, number>> {
  const res = await client.request("GET", "/metrics");
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  const out: Record<string, number> = {};
  for (const line of res.text.split("\n")) {
    const m = /^([a-z_]+) (\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
