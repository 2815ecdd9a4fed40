// A watch through kill -9 of the leader (issue 4): while writers keep writing through every
// live node, before, during and after the leader dies and a new one is elected, three
// clients watch one prefix from revision 1:
//   - SSE on a follower, and WebSocket on the same follower: their streams must never be cut
//     (a follower serves watches from its own applied log, so it keeps them across a leader
//     change);
//   - SSE on the leader: its stream dies with the leader, and the client resumes on a
//     survivor with Last-Event-ID, as a real client would.
// Each must see exactly the acknowledged writes' revisions, in order, no gap, no duplicate,
// each with its key and value; and the final state must hold exactly those writes.

import assert from "node:assert/strict";
import { type Cluster, waitFor, withCluster } from "./harness.ts";
import { putAcked } from "./kv_client.ts";
import { type SeenEvent, SseWatcher, WebSocketWatcher } from "./watch_clients.ts";

const PREFIX = "w/";
const WRITERS = 4;

interface Acked {
  key: string;
  value: string;
  revision: number;
}

/** Closed-loop writers through the live nodes, each write retried with one Idempotency-Key
 * until acknowledged (a write whose node dies under it is retried elsewhere). */
class Writers {
  readonly acked: Acked[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(cluster: Cluster) {
    this.loops = Array.from({ length: WRITERS }, (_, w) => this.loop(cluster, w));
  }

  private async loop(cluster: Cluster, w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `${PREFIX}${w}/${i}`;
      const value = `value ${w}.${i}`;
      const { revision } = await putAcked(
        (attempt) => {
          const live = cluster.liveIds();
          return cluster.client(live[(w + i + attempt) % live.length]);
        },
        key,
        value,
      );
      this.acked.push({ key, value, revision });
    }
  }

  count(): number {
    return this.acked.length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

Deno.test("watch: SSE and WebSocket streams live through kill -9 of the leader, no gap, no duplicate", async () => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    const { leader } = await cluster.waitForLeader(15_000);
    const follower = cluster.ids.find((id) => id !== leader)!;
    const url = (id: string) => cluster.spec(id).client;
    // Best first: the node named, then the others that still run.
    const prefer = (id: string) => () =>
      [id, ...cluster.liveIds().filter((other) => other !== id)]
        .filter((n) => cluster.pid(n) !== null).map(url);

    const onFollower = new SseWatcher(prefer(follower), PREFIX, 1);
    const onLeader = new SseWatcher(prefer(leader), PREFIX, 1);
    const overWebSocket = new WebSocketWatcher(url(follower), PREFIX, 1);
    const writers = new Writers(cluster);
    const watchers = [onFollower, onLeader, overWebSocket];
    try {
      await overWebSocket.opened;
      await waitFor(
        "both SSE streams open",
        10_000,
        () => Promise.resolve(onFollower.opens > 0 && onLeader.opens > 0 ? true : null),
      );

      // Before: writes flow and the watchers see them.
      await waitFor(
        "100 writes before the kill",
        15_000,
        () => Promise.resolve(writers.count() >= 100 ? true : null),
      );
      const ackedAtKill = writers.count();
      await cluster.kill(leader, "SIGKILL");

      // During and after: a new leader among the survivors, and more writes through it.
      const survivors = cluster.ids.filter((id) => id !== leader);
      const elected = await waitFor("a new leader", 15_000, async () => {
        const r = await cluster.waitForLeader(300, survivors).catch(() => null);
        return r !== null && r.leader !== leader ? r : null;
      });
      await waitFor(
        "100 more writes after the election",
        15_000,
        () => Promise.resolve(writers.count() >= ackedAtKill + 100 ? true : null),
      );
      await writers.stop();

      const acked = [...writers.acked].sort((a, b) => a.revision - b.revision);
      const last = acked.at(-1)!.revision;
      for (
        const [name, w] of [["follower SSE", onFollower], ["leader SSE", onLeader], [
          "follower WebSocket",
          overWebSocket,
        ]] as const
      ) {
        await waitFor(
          `${name} to reach revision ${last}`,
          15_000,
          () => Promise.resolve(w.lastRevision >= last ? true : null),
        );
      }
      for (const w of watchers) await w.stop();

      console.log(
        `watch failover: ${acked.length} writes (${ackedAtKill} before kill -9 of ${leader}), ` +
          `new leader ${elected.leader}; leader SSE resumed ${onLeader.cuts}x via ${
            [...new Set(onLeader.events.map((e) => e.via))].length
          } nodes`,
      );
      assertExactly("follower SSE", onFollower.events, acked);
      assertExactly("follower WebSocket", overWebSocket.events, acked);
      assertExactly("leader SSE (resumed)", onLeader.events, acked);
      // The follower kept its streams across the leader change; the leader's was cut and
      // resumed elsewhere with Last-Event-ID.
      assert.equal(onFollower.cuts, 0, "the follower's SSE stream was cut");
      assert.equal(overWebSocket.cuts, 0, "the follower's WebSocket was cut");
      assert.ok(onLeader.cuts >= 1, "the leader's stream ended with the leader");
      assert.ok(
        onLeader.events.some((e) => e.via !== url(leader)),
        "the leader's watcher resumed on another node",
      );
      for (const w of watchers) assert.deepEqual(w.errors, []);

      // The final state holds exactly the acknowledged writes.
      const list = await cluster.client(elected.leader).request("GET", "/v1/kv", {
        query: { prefix: PREFIX, limit: "1000" },
      });
      assert.equal(list.status, 200, list.text);
      const items = (list.json() as { items: { key: string; value: string; revision: number }[] })
        .items.map(({ key, value, revision }) => ({ key, value, revision }))
        .sort((a, b) => a.revision - b.revision);
      assert.deepEqual(items, acked);
    } finally {
      await writers.stop();
      for (const w of watchers) await w.stop();
    }
  });
});

/** `events` are exactly the writes of `acked` (sorted by revision): same revisions in the same
 * order, each once, with its key and value. */
function assertExactly(name: string, events: SeenEvent[], acked: Acked[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(
      events[i].revision > events[i - 1].revision,
      `${name}: revision ${events[i].revision} after ${
        events[i - 1].revision
      } (a duplicate or out of order)`,
    );
  }
  assert.deepEqual(
    events.map((e) => e.revision),
    acked.map((a) => a.revision),
    `${name}: not exactly the acknowledged revisions`,
  );
  assert.deepEqual(
    events.map((e) => ({ type: e.type, key: e.key, value: e.value })),
    acked.map((a) => ({ type: "put", key: a.key, value: a.value })),
    `${name}: an event differs from its write`,
  );
  for (const e of events) {
    if (e.id !== null) assert.equal(e.id, String(e.revision), `${name}: id of a single put`);
  }
}
