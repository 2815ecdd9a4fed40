// kill -9 a follower, keep writing, restart it with the same data dir: it catches up, by
// log replay (default snapshot threshold) or by a snapshot (a threshold far below the
// number of writes it missed, so the leader has compacted what the follower needs).

import assert from "node:assert/strict";
import { type Cluster, type Tuning, waitFor, withCluster } from "./harness.ts";
import { putAcked } from "./kv_client.ts";

const WRITES_WHILE_DOWN = 200;
const KEYS = 50;
const WRITERS = 8;

async function followerCatchesUp(tuning: Tuning, viaSnapshot: boolean): Promise<void> {
  await withCluster({ nodes: 3, tuning }, async (cluster) => {
    const { leader } = await cluster.waitForLeader(15_000);
    const follower = cluster.ids.find((id) => id !== leader)!;
    const other = cluster.ids.find((id) => id !== leader && id !== follower)!;

    // Some state it has before it dies.
    const latest = new Map<string, string>();
    await writeRounds(cluster, [leader, other, follower], latest, 0, KEYS);

    const before = await cluster.client(follower).status();
    await cluster.kill(follower, "SIGKILL");
    // 200 writes over 50 keys while it is down: each key rewritten 4 times, so a replica
    // that stopped short of the end serves an older value.
    await writeRounds(cluster, [leader, other], latest, KEYS, KEYS + WRITES_WHILE_DOWN);
    const deleted = `k/${KEYS - 1}`;
    assert.equal((await cluster.client(other).del(deleted)).status, 200);
    latest.delete(deleted);

    if (viaSnapshot) {
      // Otherwise this case would not test what it says it tests.
      const { snapshotIndex } = await cluster.client(leader).status();
      assert.ok(
        snapshotIndex > before.lastLogIndex,
        `leader snapshot at ${snapshotIndex}, ${follower} had up to ${before.lastLogIndex}`,
      );
    }

    cluster.start(follower);
    const target = (await cluster.client(leader).status()).commitIndex;
    const caughtUp = await waitFor(`${follower} to apply up to ${target}`, 15_000, async () => {
      const status = await cluster.client(follower).status();
      return status.appliedIndex >= target ? status : null;
    });
    assert.ok(caughtUp.leader !== null, `${follower} knows the leader`);

    // Its own replica (serializable reads) has the latest value of every key.
    for (const [key, value] of latest) {
      const got = await cluster.client(follower).get(key, {
        query: { consistency: "serializable" },
      });
      assert.equal(got.status, 200, `${follower} ${key}: ${got.text}`);
      assert.equal(got.text, value, `${follower} ${key}`);
    }
    const gone = await cluster.client(follower).get(deleted, {
      query: { consistency: "serializable" },
    });
    assert.equal(gone.status, 404, `${follower} still has deleted ${deleted}`);

    // The leader sees it connected and fully replicated.
    await waitFor(`the leader to see ${follower} connected and caught up`, 10_000, async () => {
      const status = await cluster.client(leader).status();
      const member = status.members.find((m) => m.id === follower);
      return member?.connected === true && member.matchIndex === status.lastLogIndex ? true : null;
    });
    // And it takes part in new writes.
    const after = await putAcked(() => cluster.client(follower), "k/after-restart", "fresh");
    await waitFor(`${follower} to apply its own write`, 10_000, async () => {
      const status = await cluster.client(follower).status();
      return status.appliedIndex >= after.revision ? true : null;
    });
  });
}

/**
 * Writes `k/<n mod KEYS>` = "n" for n in [from, to), WRITERS at a time, round robin over
 * `vias`. Each key belongs to one writer, so its writes are sequential and `latest` is
 * exactly what the store must hold.
 */
async function writeRounds(
  cluster: Cluster,
  vias: string[],
  latest: Map<string, string>,
  from: number,
  to: number,
): Promise<void> {
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    for (let n = from; n < to; n++) {
      if ((n % KEYS) % WRITERS !== w) continue;
      const key = `k/${n % KEYS}`;
      await putAcked(() => cluster.client(vias[n % vias.length]), key, `${n}`);
      latest.set(key, `${n}`);
    }
  }));
}

Deno.test("follower restart: kill -9, 200 writes, restart: catches up from the log", async () => {
  await followerCatchesUp({}, false);
});

Deno.test("follower restart: catches up through a snapshot when the log was compacted", async () => {
  await followerCatchesUp({ snapshotEntries: 40 }, true);
});
