// kill -9 the leader of a 3-node cluster under write load: a new leader within 2 s, no
// acknowledged write lost, writes go on, and the old leader rejoins as a follower.

import assert from "node:assert/strict";
import { type Cluster, delay, waitFor, withCluster } from "./harness.ts";
import { NetworkError, putAcked } from "./kv_client.ts";

/** The bound: a new leader within 2 s of the leader's death. */
const ELECTION_BOUND_MS = 2000;
const PRELOADED_KEYS = 60;

/** A closed-loop writer on every node; records what was acknowledged. */
class Writers {
  readonly acked = new Map<string, string>();
  /** When each acknowledged write was sent and answered (performance.now()), in order. */
  readonly ackTimes: { sentAt: number; ackedAt: number }[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(cluster: Cluster, count: number) {
    this.loops = Array.from({ length: count }, (_, w) => this.loop(cluster, w));
  }

  private async loop(cluster: Cluster, w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const ids = cluster.ids;
      const via = ids[(w + i) % ids.length];
      const key = `live/w${w}/${i}`;
      const value = `value ${w}.${i}`;
      const sentAt = performance.now();
      try {
        const result = await cluster.client(via).put(key, value, { timeoutMs: 3000 });
        if (result.status === 200) {
          this.acked.set(key, value);
          this.ackTimes.push({ sentAt, ackedAt: performance.now() });
        }
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
      }
      // A dead node refuses at once: do not spin on it.
      if (cluster.pid(via) === null) await delay(20);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

Deno.test("failover: kill -9 the leader; a new one within 2 s, nothing acknowledged lost", async () => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    const { leader: oldLeader, term: oldTerm } = await cluster.waitForLeader(15_000);
    const survivors = cluster.ids.filter((id) => id !== oldLeader);

    const preloaded = new Map<string, string>();
    await Promise.all(Array.from({ length: 6 }, async (_, w) => {
      for (let i = w; i < PRELOADED_KEYS; i += 6) {
        const key = `pre/${i}`;
        await putAcked(() => cluster.client(cluster.ids[i % 3]), key, `pre ${i}`);
        preloaded.set(key, `pre ${i}`);
      }
    }));

    const writers = new Writers(cluster, 4);
    try {
      await waitFor(
        "writers to get going",
        10_000,
        () => Promise.resolve(writers.ackTimes.length >= 20 ? true : null),
      );

      const killedAt = performance.now();
      await cluster.kill(oldLeader, "SIGKILL");

      // Poll the survivors' status until they agree on a new leader.
      const elected = await waitFor("a new leader among the survivors", 10_000, async () => {
        const result = await cluster.waitForLeader(200, survivors).catch(() => null);
        return result !== null && result.leader !== oldLeader ? result : null;
      });
      const electionMs = performance.now() - killedAt;
      // And the first write sent after the kill and acknowledged (the user-visible outage).
      const firstAck = await waitFor(
        "a write sent after the kill to be acknowledged",
        10_000,
        () => Promise.resolve(writers.ackTimes.find((t) => t.sentAt > killedAt) ?? null),
      );
      const firstWriteMs = firstAck.ackedAt - killedAt;
      const measured = `new leader ${elected.leader} (term ${elected.term}) ` +
        `${electionMs.toFixed(0)} ms after kill -9 of ${oldLeader}; ` +
        `first acknowledged write ${firstWriteMs.toFixed(0)} ms`;
      console.log(`failover: ${measured}`);
      assert.ok(elected.term > oldTerm, `term ${elected.term} after ${oldTerm}`);
      assert.ok(
        electionMs < ELECTION_BOUND_MS,
        `new leader after ${electionMs.toFixed(0)} ms (bound ${ELECTION_BOUND_MS} ms)`,
      );

      // Writes go on: a good number more after the failover.
      const ackedAtFailover = writers.ackTimes.length;
      await waitFor(
        "50 more writes after the failover",
        10_000,
        () => Promise.resolve(writers.ackTimes.length >= ackedAtFailover + 50 ? true : null),
      );
    } finally {
      // Also on a failed assertion: a writer left running would outlive the test.
      await writers.stop();
    }

    // Nothing acknowledged is lost: every survivor serves every acknowledged write.
    const expected = new Map([...preloaded, ...writers.acked]);
    for (const reader of survivors) await assertAllPresent(cluster, reader, expected);

    // The old leader comes back with its data dir and rejoins as a follower.
    cluster.start(oldLeader);
    const rejoined = await cluster.waitForLeader(15_000);
    await waitFor(`${oldLeader} to apply everything`, 10_000, async () => {
      const mine = await cluster.client(oldLeader).status();
      const theirs = await cluster.client(rejoined.leader).status();
      return mine.appliedIndex >= theirs.commitIndex ? true : null;
    });
    for (const [key, value] of expected) {
      const got = await cluster.client(oldLeader).get(key, {
        query: { consistency: "serializable" },
      });
      assert.equal(got.status, 200, `${oldLeader} ${key}: ${got.text}`);
      assert.equal(got.text, value);
    }
  });
});

async function assertAllPresent(
  cluster: Cluster,
  reader: string,
  expected: Map<string, string>,
): Promise<void> {
  const keys = [...expected.keys()];
  // A few reads at once keeps this short without hammering a 2-core box.
  for (let start = 0; start < keys.length; start += 8) {
    await Promise.all(
      keys.slice(start, start + 8).map(async (key) => {
        const got = await cluster.client(reader).get(key);
        assert.equal(got.status, 200, `${reader} lost acknowledged ${key}: ${got.text}`);
        assert.equal(got.text, expected.get(key), `${reader} ${key}`);
      }),
    );
  }
}
