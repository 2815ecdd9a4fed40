// Backup and restore end to end (issue: "GET /v1/snapshot streams a consistent backup; deno
// task restore --from FILE builds a new cluster from it. A test round-trips 10,000 keys."):
// real processes, a backup taken from a follower (so through ReadIndex), restored with the
// command into a fresh cluster with other ports, every key read back with its value and its
// original revision, and new writes numbered above the backup.

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Cluster, withCluster } from "../cluster/harness.ts";
import { putAcked } from "../cluster/kv_client.ts";
import { concurrently, putMany, runRestoreCommand } from "./ops_helpers.ts";

const KEYS = 10_000;
const IN_FLIGHT = 32;
const TUNING = { snapshotEntries: 2_000, requestTimeoutMs: 10_000 };

const keyOf = (i: number) => `backup/${i}`;
/** Varied lengths, and a multi-byte character so values are not plain ASCII. */
const valueOf = (i: number) => `value ${i} ${"é".repeat(i % 7)}${"x".repeat(i % 50)}`;

interface Taken {
  file: Uint8Array;
  revisions: number[];
  appliedIndex: number;
}

async function writeAndBackUp(cluster: Cluster): Promise<Taken> {
  const { leader } = await cluster.waitForLeader();
  const { revisions, perSecond } = await putMany(
    () => cluster.client(leader),
    KEYS,
    IN_FLIGHT,
    keyOf,
    valueOf,
  );
  console.log(`backup: ${KEYS} writes at ${perSecond}/s (${IN_FLIGHT} in flight)`);
  const follower = cluster.ids.find((id) => id !== leader)!;
  const res = await cluster.client(follower).request("GET", "/v1/snapshot", {
    timeoutMs: 30_000,
  });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
  const revision = Number(res.headers.get("x-kv-revision"));
  const appliedIndex = Number(res.headers.get("x-kv-applied-index"));
  // Linearizable: every acknowledged write is in it, even though a follower took it.
  assert.ok(revision >= Math.max(...revisions), `backup revision ${revision}`);
  assert.equal(
    res.headers.get("content-disposition"),
    `attachment; filename="raftkv-${revision}.snap"`,
  );
  assert.equal(res.headers.get("content-length"), String(res.body.length));
  console.log(`backup: ${res.body.length} bytes at revision ${revision}`);
  return { file: res.body, revisions, appliedIndex };
}

Deno.test("backup: 10,000 keys round-trip through GET /v1/snapshot and the restore command", async () => {
  let taken: Taken | null = null;
  await withCluster({ tuning: TUNING }, async (cluster) => {
    taken = await writeAndBackUp(cluster);
  });
  const { file, revisions, appliedIndex } = taken!;
  await withCluster({ tuning: TUNING, autoStart: false }, async (restored) => {
    const backupPath = join(restored.dir, "raftkv.snap");
    await Deno.writeFile(backupPath, file);
    const dataRoot = join(restored.dir, "data");
    const args = ["--from", backupPath, "--config", restored.configPath, "--data", dataRoot];

    // A corrupted copy is refused: exit 2, one line, nothing written.
    const corruptPath = join(restored.dir, "corrupt.snap");
    const corrupt = file.slice();
    corrupt[corrupt.length >> 1] ^= 0x01;
    await Deno.writeFile(corruptPath, corrupt);
    const refused = await runRestoreCommand(["--from", corruptPath, ...args.slice(2)]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stdout, "");
    assert.deepEqual(refused.stderr.trimEnd().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, /^raftkv: restore: .*corrupt\.snap: checksum mismatch/);
    assert.equal(await Deno.stat(dataRoot).then(() => true, () => false), false);

    const done = await runRestoreCommand(args);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, new RegExp(`${KEYS} keys`));
    // A second restore over the same data is refused without --force.
    const again = await runRestoreCommand(args);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds node data; pass --force/);

    for (const id of restored.ids) restored.start(id);
    const { leader } = await restored.waitForLeader(15_000);
    const clients = restored.ids.map((id) => restored.client(id));
    const started = performance.now();
    await concurrently(KEYS, IN_FLIGHT, async (i) => {
      const res = await clients[i % clients.length].get(keyOf(i), { timeoutMs: 15_000 });
      assert.equal(res.status, 200, `${keyOf(i)}: ${res.status} ${res.text}`);
      assert.equal(res.text, valueOf(i), keyOf(i));
      assert.equal(res.headers.get("etag"), `"${revisions[i]}"`, keyOf(i));
    });
    console.log(
      `backup: ${KEYS} linearizable reads in ${Math.round(performance.now() - started)} ms`,
    );

    const put = await putAcked(() => restored.client(leader), "after-restore", "new");
    assert.ok(put.revision > appliedIndex, `new revision ${put.revision} > ${appliedIndex}`);
    const read = await restored.client(restored.ids[0]).get("after-restore");
    assert.equal(read.text, "new");
    assert.ok(Number(read.headers.get("x-kv-revision")) > appliedIndex);
  });
});
