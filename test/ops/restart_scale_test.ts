// Restart at scale (issue: "a node with 1,000,000 applied writes (100,000 distinct keys)
// restarts and serves reads within 5 s"). Writing a million entries over HTTP would take
// minutes, so the data directory is built directly, as the node itself would have left it
// after compacting: the state machine after the writes as a Raft snapshot, plus a committed
// log tail the node must replay at start. Then main.ts starts on it, and we time from spawn
// to the first successful linearizable GET.

import assert from "node:assert/strict";
import { join } from "node:path";
import { restoredConfig } from "../../lib/backup/mod.ts";
import { parseClusterConfig } from "../../lib/config/mod.ts";
import { encodeCommand, KvStateMachine } from "../../lib/kv/mod.ts";
import type { Entry } from "../../lib/raft/types.ts";
import { KvStorage } from "../../lib/storage/mod.ts";
import { withCluster } from "../cluster/harness.ts";
import type { HttpResult } from "../cluster/kv_client.ts";

const WRITES = 1_000_000;
const KEYS = 100_000;
/** Entries after the snapshot: replayed from the log at start. */
const TAIL = 2_000;
const RESTART_MS_MAX = 5_000;
const TERM = 1;

const keyOf = (i: number) => `scale/${String(i % KEYS).padStart(6, "0")}`;
const valueOf = (i: number) => `v${i}`;
/** The index of the last write to key number `k` (writes are 1..WRITES, key i % KEYS). */
const lastWriteOf = (k: number) => k + KEYS * Math.floor((WRITES - k) / KEYS);

const encoder = new TextEncoder();

function command(i: number): Uint8Array {
  return encodeCommand({
    type: "put",
    key: keyOf(i),
    value: encoder.encode(valueOf(i)),
    time: 1_700_000_000_000 + i,
    reqId: `scale.${i}`,
  });
}

/** `dataDir/raft.kv` as a one-node cluster leaves it after WRITES writes. */
async function buildDataDir(dataDir: string, clusterFile: unknown): Promise<void> {
  const parsed = parseClusterConfig(clusterFile, "nodes.json");
  if (parsed.type !== "ok") throw new Error(parsed.message);
  const snapIndex = WRITES - TAIL;
  const sm = new KvStateMachine();
  for (let i = 1; i <= snapIndex; i++) sm.apply(i, command(i));
  const image = sm.snapshot();
  const tail: Entry[] = [];
  for (let i = snapIndex + 1; i <= WRITES; i++) {
    tail.push({ term: TERM, index: i, type: "normal", data: command(i) });
  }
  const storage = await KvStorage.open(join(dataDir, "raft.kv"));
  try {
    const config = restoredConfig(parsed.config);
    await storage.saveSnapshot({ meta: { index: snapIndex, term: TERM, config }, data: image });
    await storage.append(tail, { term: TERM, votedFor: "n1", commitIndex: WRITES });
  } finally {
    storage.close();
  }
  console.log(`restart: snapshot of ${sm.size} keys, ${image.length} bytes, + ${TAIL} entries`);
}

Deno.test(`restart at scale: ${WRITES} applied writes over ${KEYS} keys, reads within 5 s`, async () => {
  await withCluster({ nodes: 1, autoStart: false }, async (cluster) => {
    const built = performance.now();
    await buildDataDir(cluster.spec("n1").dataDir, cluster.config);
    console.log(`restart: data built in ${Math.round(performance.now() - built)} ms`);

    const client = cluster.client("n1");
    const probe = 12_345; // a key last written before the snapshot
    const started = performance.now();
    cluster.start("n1");
    let first: HttpResult | null = null;
    while (performance.now() - started < 4 * RESTART_MS_MAX) {
      const res = await client.get(keyOf(probe), { timeoutMs: 2000 }).catch(() => null);
      if (res?.status === 200) {
        first = res;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const servedMs = Math.round(performance.now() - started);
    console.log(`restart: first linearizable GET answered ${servedMs} ms after spawn`);
    assert.ok(first !== null, `no successful read within ${4 * RESTART_MS_MAX} ms`);
    assert.ok(servedMs < RESTART_MS_MAX, `served after ${servedMs} ms (limit ${RESTART_MS_MAX})`);
    assert.equal(first.text, valueOf(lastWriteOf(probe)));
    assert.equal(first.headers.get("etag"), `"${lastWriteOf(probe)}"`);

    // Keys last written in the replayed tail, and the store's revision, are all there.
    for (const k of [0, WRITES % KEYS, (WRITES - 1) % KEYS, 99_999]) {
      const res = await client.get(keyOf(k));
      assert.equal(res.status, 200, keyOf(k));
      assert.equal(res.text, valueOf(lastWriteOf(k)), keyOf(k));
    }
    const status = await client.status();
    assert.ok(status.appliedIndex > WRITES, `appliedIndex ${status.appliedIndex}`);
    assert.equal(status.snapshotIndex >= WRITES - TAIL, true);
  });
});
