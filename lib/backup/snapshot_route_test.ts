import assert from "node:assert/strict";
import { Hono } from "hono";
import { KvStateMachine } from "../kv/mod.ts";
import { Replica } from "../replica/replica.ts";
import { MemoryStorage } from "../storage/mod.ts";
import { MemoryNetwork } from "../transport/mod.ts";
import { decodeBackup } from "./format.ts";
import { registerBackupRoutes } from "./snapshot_route.ts";

const encoder = new TextEncoder();

/** One replica over in-memory storage and network; `voters` beyond it never answer. */
async function withReplica(
  voters: string[],
  body: (replica: Replica, app: Hono) => Promise<void>,
): Promise<void> {
  const transport = new MemoryNetwork().transport("a");
  await transport.start();
  const replica = await Replica.open({
    id: "a",
    voters,
    tickMs: 5,
    electionTicks: 10,
    heartbeatTicks: 1,
    snapshotEntries: 1000,
    requestTimeoutMs: 500,
  }, { storage: new MemoryStorage(), transport, log: () => {} });
  replica.start();
  const app = new Hono();
  registerBackupRoutes(app, replica);
  try {
    await body(replica, app);
  } finally {
    await replica.stop();
    await transport.close();
  }
}

async function waitForLeader(replica: Replica): Promise<void> {
  const deadline = Date.now() + 5000;
  while (replica.node.role !== "leader") {
    if (Date.now() > deadline) throw new Error("no leader within 5 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("GET /v1/snapshot: a linearizable backup of every write acknowledged before it", async () => {
  await withReplica(["a"], async (replica, app) => {
    await waitForLeader(replica);
    for (let i = 0; i < 300; i++) {
      const o = await replica.write({
        type: "put",
        key: `k${i % 100}`,
        value: encoder.encode(`${i}`),
      });
      assert.equal(o.type, "applied");
    }
    const res = await app.request("/v1/snapshot");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/octet-stream");
    const revision = replica.sm.revision;
    assert.equal(
      res.headers.get("content-disposition"),
      `attachment; filename="raftkv-${revision}.snap"`,
    );
    assert.equal(res.headers.get("x-kv-revision"), String(revision));
    const file = new Uint8Array(await res.arrayBuffer());
    assert.equal(res.headers.get("content-length"), String(file.length));
    const decoded = await decodeBackup(file);
    assert.equal(decoded.type, "ok");
    if (decoded.type !== "ok") return;
    assert.equal(decoded.backup.revision, revision);
    assert.equal(decoded.backup.appliedIndex, replica.sm.appliedIndex);
    const sm = KvStateMachine.restore(decoded.backup.image);
    assert.equal(sm.size, 100);
    assert.equal(new TextDecoder().decode(sm.get("k42", 0)?.value), "242");
  });
});

Deno.test("GET /v1/snapshot: without a quorum 503, unless serializable; bad consistency 400", async () => {
  // Three voters of which only "a" exists: no leader, ever.
  await withReplica(["a", "b", "c"], async (_replica, app) => {
    const res = await app.request("/v1/snapshot");
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("content-type"), "application/problem+json");
    await res.body?.cancel();
    const local = await app.request("/v1/snapshot?consistency=serializable");
    assert.equal(local.status, 200);
    const decoded = await decodeBackup(new Uint8Array(await local.arrayBuffer()));
    assert.equal(decoded.type, "ok");
    const bad = await app.request("/v1/snapshot?consistency=eventual");
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).detail, /consistency/);
  });
});
