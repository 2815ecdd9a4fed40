// The Deno KV file stops growing under a steady overwrite workload (issue: "Snapshots and log
// compaction"). The same 100 keys are overwritten again and again with snapshotEntries small,
// so each node keeps snapshotting and deleting its log; we sample raft.kv + raft.kv-wal on
// every node and require the later samples to stay on the plateau reached after warm-up.
//
// What to expect on disk (SQLite in WAL mode): deleted log rows free their pages, which later
// commits reuse, so raft.kv levels off at the live data (~150 KB here). The WAL is
// checkpointed automatically once it holds 1,000 pages (wal_autocheckpoint) and is then
// rewritten from its start rather than truncated, so raft.kv-wal levels off at about
// 1,000 × (4,096 + 24) bytes ≈ 4.1 MB plus at most one commit's worth. Without compaction the
// log alone would add ~300 bytes per write, 6 MB over the measured writes.
//
// The writes carry no Idempotency-Key on purpose: each key recorded is replicated state kept
// for 10 minutes (up to 100,000 entries), which would grow the snapshot itself, by design.

import assert from "node:assert/strict";
import { withCluster } from "../cluster/harness.ts";
import { concurrently, kvFileBytes } from "./ops_helpers.ts";

const KEYS = 100;
const IN_FLIGHT = 32;
const WARMUP_WRITES = 4_000;
const BATCH_WRITES = 2_500;
const BATCHES = 8;
const VALUE_PAD = "x".repeat(100);
/** Allowed rise above the first sample: a WAL commit or two, a snapshot generation. */
const SLACK_BYTES = 1024 * 1024;

Deno.test("kv growth: raft.kv + raft.kv-wal stop growing under a steady overwrite workload", async () => {
  await withCluster({ tuning: { snapshotEntries: 200 } }, async (cluster) => {
    const { leader } = await cluster.waitForLeader();
    const client = cluster.client(leader);
    let written = 0;
    const overwrite = async (count: number) => {
      const base = written;
      written += count;
      await concurrently(count, IN_FLIGHT, async (i) => {
        const n = base + i;
        // An overwrite is idempotent: a retry after 503/504 cannot change the outcome.
        for (let attempt = 0;; attempt++) {
          const res = await client.put(`growth/${n % KEYS}`, `${n} ${VALUE_PAD}`);
          if (res.status === 200) return;
          if (attempt >= 20 || (res.status !== 503 && res.status !== 504)) {
            throw new Error(`PUT: ${res.status} ${res.text}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      });
    };
    const sample = async () => {
      const sizes = new Map<string, { main: number; wal: number }>();
      for (const id of cluster.ids) sizes.set(id, await kvFileBytes(cluster.spec(id).dataDir));
      return sizes;
    };

    await overwrite(WARMUP_WRITES);
    const samples = [await sample()];
    const started = performance.now();
    for (let b = 0; b < BATCHES; b++) {
      await overwrite(BATCH_WRITES);
      samples.push(await sample());
    }
    const rate = Math.round(BATCHES * BATCH_WRITES / ((performance.now() - started) / 1000));
    for (const id of cluster.ids) {
      const series = samples.map((s) => s.get(id)!);
      console.log(
        `kv growth: ${id} raft.kv + raft.kv-wal after ${WARMUP_WRITES} + k×${BATCH_WRITES} ` +
          `writes (${rate}/s): ${series.map((s) => `${s.main}+${s.wal}`).join(", ")}`,
      );
      const plateau = series[0].main + series[0].wal;
      assert.ok(plateau > 0, `${id}: no data files found`);
      for (const [k, s] of series.entries()) {
        assert.ok(
          s.main + s.wal <= plateau + SLACK_BYTES,
          `${id}: sample ${k} is ${
            s.main + s.wal
          } bytes, over the plateau ${plateau} + ${SLACK_BYTES}`,
        );
      }
      // The main file holds the live data only: it must not creep either.
      const mainRise = series[series.length - 1].main - series[0].main;
      assert.ok(mainRise <= SLACK_BYTES / 2, `${id}: raft.kv grew by ${mainRise} bytes`);
    }
  });
});
