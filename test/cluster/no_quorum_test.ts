// One node of three left alive: it has no leader and cannot get one. What it answers is
// documented (API.md §3): a documented role in /v1/status, 503 from /v1/health, 503 with
// Retry-After for writes and linearizable reads, the local replica for serializable reads.

import assert from "node:assert/strict";
import { delay, waitFor, withCluster } from "./harness.ts";
import { problemSchema, putAcked, ROLES } from "./kv_client.ts";

Deno.test("no quorum: a lone node answers 503s and reports a documented role", async () => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    const { leader } = await cluster.waitForLeader(15_000);
    const [lone, other] = cluster.ids.filter((id) => id !== leader);
    await putAcked(() => cluster.client(lone), "quorum/before", "written with a quorum");
    await waitFor(`${lone} to apply the write`, 10_000, async () => {
      const got = await cluster.client(lone).get("quorum/before", {
        query: { consistency: "serializable" },
      });
      return got.status === 200 ? true : null;
    });

    await Promise.all([cluster.kill(leader, "SIGKILL"), cluster.kill(other, "SIGKILL")]);
    const node = cluster.client(lone);
    // Read raw: the role is exactly what this test checks, so no schema may reject it first.
    const rawStatus = async () =>
      (await node.request("GET", "/v1/status")).json() as { role: string; leader: unknown };
    await waitFor(`${lone} to forget the dead leader`, 10_000, async () => {
      return (await rawStatus()).leader === null ? true : null;
    });
    // It keeps trying to win an election it cannot win; whatever it is meanwhile, the role
    // it reports is one of the documented ones.
    const roles = new Set<string>();
    for (let i = 0; i < 20; i++) {
      roles.add((await rawStatus()).role);
      await delay(50);
    }
    assert.ok(!roles.has("leader"), "a node alone out of three cannot lead");

    const health = await node.health();
    assert.equal(health.status, 503, health.text);

    const write = await node.put("quorum/during", "no quorum", { timeoutMs: 15_000 });
    assertUnavailable(write.status, write.headers, write.text);
    const read = await node.get("quorum/before", { timeoutMs: 15_000 });
    assertUnavailable(read.status, read.headers, read.text);
    const local = await node.get("quorum/before", { query: { consistency: "serializable" } });
    assert.equal(local.status, 200, local.text);
    assert.equal(local.text, "written with a quorum");

    // One peer back: a quorum again, and the node works.
    cluster.start(other);
    await cluster.waitForLeader(15_000);
    await putAcked(() => node, "quorum/after", "quorum again");
    assert.equal((await node.health()).status, 200);

    // Checked last, so the behaviour above is checked whatever the outcome.
    for (const role of roles) {
      assert.ok(
        (ROLES as readonly string[]).includes(role),
        `undocumented role "${role}" in /v1/status (documented: ${ROLES.join(", ")})`,
      );
    }
  });
});

function assertUnavailable(status: number, headers: Headers, text: string): void {
  assert.equal(status, 503, text);
  assert.ok(headers.get("retry-after") !== null, "503 comes with Retry-After");
  assert.match(headers.get("content-type") ?? "", /^application\/problem\+json/);
  assert.equal(problemSchema.parse(JSON.parse(text)).status, 503);
}
