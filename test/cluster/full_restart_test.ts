// Stop every node (SIGTERM, then in a second case SIGKILL right after the last
// acknowledgement) and restart them all on the same data dirs: every acknowledged write is
// there, with its version, and new revisions continue above the old ones (API.md §2).

import assert from "node:assert/strict";
import { type Cluster, waitFor, withCluster } from "./harness.ts";
import { deleteResultSchema, putAcked } from "./kv_client.ts";

const KEYS = 60;

interface Expected {
  value: string;
  version: number;
  revision: number;
}

async function everythingSurvives(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
  // A low snapshot threshold: the restart recovers from a snapshot plus a log tail.
  await withCluster({ nodes: 3, tuning: { snapshotEntries: 50 } }, async (cluster) => {
    await cluster.waitForLeader(15_000);
    const { expected, deleted, maxRevision } = await writeHistory(cluster);

    const statuses = await cluster.stopAll(signal);
    if (signal === "SIGTERM") {
      // A stop signal is a clean stop (lib/launcher): exit code 0.
      assert.deepEqual(statuses.map((s) => s.code), [0, 0, 0]);
    }
    assert.deepEqual(cluster.liveIds(), []);

    for (const id of cluster.ids) cluster.start(id);
    await cluster.waitForLeader(15_000);
    for (const reader of cluster.ids) {
      await assertHistory(cluster, reader, expected, deleted);
    }
    const next = await putAcked(() => cluster.client(cluster.ids[0]), "after/restart", "x");
    assert.ok(next.revision > maxRevision, `revision ${next.revision} after ${maxRevision}`);
  });
}

/** Puts over KEYS keys (some rewritten), then deletes a few; what must survive. */
async function writeHistory(cluster: Cluster) {
  const expected = new Map<string, Expected>();
  let maxRevision = 0;
  // Three rounds: each key gets versions 1..3 (some only 1..2); one writer per key.
  for (let round = 1; round <= 3; round++) {
    await Promise.all(Array.from({ length: 6 }, async (_, w) => {
      for (let i = w; i < KEYS; i += 6) {
        if (round === 3 && i % 2 === 0) continue;
        const key = `restart/${i}`;
        const value = `${i}@${round}`;
        const via = cluster.ids[(i + round) % cluster.ids.length];
        const put = await putAcked(() => cluster.client(via), key, value);
        assert.equal(put.version, round, `${key} version`);
        expected.set(key, { value, version: put.version, revision: put.revision });
        maxRevision = Math.max(maxRevision, put.revision);
      }
    }));
  }
  const deleted: string[] = [];
  for (let i = 0; i < KEYS; i += 10) {
    const key = `restart/${i}`;
    const result = await cluster.client(cluster.ids[i % 3]).del(key);
    assert.equal(result.status, 200, result.text);
    maxRevision = Math.max(maxRevision, deleteResultSchema.parse(result.json()).revision);
    expected.delete(key);
    deleted.push(key);
  }
  return { expected, deleted, maxRevision };
}

async function assertHistory(
  cluster: Cluster,
  reader: string,
  expected: Map<string, Expected>,
  deleted: string[],
): Promise<void> {
  for (const [key, want] of expected) {
    // The first linearizable read can race the new leader's first commit: retry 503s.
    const got = await waitFor(`${reader} to answer GET ${key}`, 10_000, async () => {
      const result = await cluster.client(reader).get(key);
      return result.status === 503 ? null : result;
    });
    assert.equal(got.status, 200, `${reader} lost ${key}: ${got.text}`);
    assert.equal(got.text, want.value, `${reader} ${key}`);
    assert.equal(got.headers.get("x-kv-version"), String(want.version), `${reader} ${key}`);
    assert.equal(got.headers.get("etag"), `"${want.revision}"`, `${reader} ${key}`);
  }
  for (const key of deleted) {
    const got = await cluster.client(reader).get(key);
    assert.equal(got.status, 404, `${reader}: deleted ${key} came back: ${got.text}`);
  }
}

Deno.test("full restart: SIGTERM every node, restart all: every acknowledged write is there", async () => {
  await everythingSurvives("SIGTERM");
});

Deno.test("full restart: SIGKILL every node right after the last ack: nothing is lost", async () => {
  await everythingSurvives("SIGKILL");
});
