// Exactly once across a leader change (issue 4): a write with an Idempotency-Key is sent to
// the leader, the leader is killed with SIGKILL — after its answer arrived, or while the
// write is still in flight — and the client retries the same key at the other nodes until
// one answers. The write must take effect once: the key's version is 1 (a second apply
// would make it 2 and give it a new revision), and the retry's answer is the first one's.
// Each round writes a fresh key, so a double apply cannot hide.

import assert from "node:assert/strict";
import { type Cluster, delay, waitFor, withCluster } from "./harness.ts";
import { type HttpResult, NetworkError, putResultSchema } from "./kv_client.ts";

type Mode =
  /** The leader answered 200, then died: a retry without dedup would surely apply again. */
  | "answered"
  /** Killed right after the request was sent: committed or not, it must count once. */
  | "in flight"
  /** Killed a few milliseconds in: typically appended, maybe committed, not answered. */
  | "in flight, 3 ms";

const MODES: Mode[] = ["answered", "in flight", "in flight, 3 ms", "answered"];

Deno.test("exactly once: a write retried with its Idempotency-Key across kill -9 of the leader applies once", async () => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    for (const [round, mode] of MODES.entries()) {
      const { leader } = await cluster.waitForLeader(15_000);
      const key = `once/${round}`;
      const value = `round ${round} (${mode})`;
      const headers = {
        "idempotency-key": `retry-across-failover-${round}-${crypto.randomUUID()}`,
      };

      const first = cluster.client(leader).put(key, value, { headers, timeoutMs: 5000 })
        .catch((e: unknown) => {
          if (e instanceof NetworkError) return null; // died under us: outcome unknown
          throw e;
        });
      let firstResult: HttpResult | null = null;
      if (mode === "answered") {
        firstResult = await first;
        assert.equal(firstResult?.status, 200, `round ${round}: ${firstResult?.text}`);
      } else if (mode === "in flight, 3 ms") {
        await delay(3);
      }
      await cluster.kill(leader, "SIGKILL");
      firstResult ??= await first;

      // Retry the same write, same key, at the survivors until one answers.
      const survivors = cluster.ids.filter((id) => id !== leader);
      let attempt = 0;
      const retried = await waitFor(
        `round ${round}: the retry to be answered`,
        20_000,
        async () => {
          const via = survivors[attempt++ % survivors.length];
          const r = await cluster.client(via).put(key, value, { headers, timeoutMs: 3000 });
          if (r.status === 503 || r.status === 504) return null; // no leader yet: retry
          assert.equal(r.status, 200, `round ${round}: retry via ${via}: ${r.text}`);
          return putResultSchema.parse(r.json());
        },
      );

      // Applied once: version 1, and the revision the key got is the one the retry reports.
      const reader = cluster.client(survivors[0]);
      const got = await reader.get(key);
      assert.equal(got.status, 200, `round ${round}: ${got.text}`);
      assert.equal(got.text, value);
      assert.equal(
        got.headers.get("x-kv-version"),
        "1",
        `round ${round} (${mode}): the write was applied more than once`,
      );
      assert.equal(got.headers.get("etag"), `"${retried.revision}"`);
      assert.equal(retried.version, 1);
      if (firstResult !== null && firstResult.status === 200) {
        // The retry answers with the first result, not a new one.
        assert.deepEqual(retried, putResultSchema.parse(firstResult.json()), `round ${round}`);
      }
      console.log(
        `exactly once, round ${round} (${mode}): first answer ${
          firstResult === null ? "lost with the leader" : firstResult.status
        }, applied once at revision ${retried.revision}`,
      );

      // Bring the old leader back before the next round.
      cluster.start(leader);
      await waitForAllApplied(cluster);
    }
  });
});

async function waitForAllApplied(cluster: Cluster): Promise<void> {
  const { leader } = await cluster.waitForLeader(15_000);
  const { commitIndex } = await cluster.client(leader).status();
  await waitFor("every node to catch up", 15_000, async () => {
    for (const id of cluster.ids) {
      if ((await cluster.client(id).status()).appliedIndex < commitIndex) return null;
    }
    return true;
  });
}
