// Three in-memory replicas, each with its own app and watch hub: the routes on followers,
// a watch on a follower through a leader change, and a follower that installs a snapshot.

import assert from "node:assert/strict";
import type { SseEvent } from "../cli/sse.ts";
import { json, put, serve, SseClient, startCluster } from "./test_helpers.ts";

Deno.test("cluster: a watch on a follower lives through a leader change with no gap or duplicate", async () => {
  const cluster = await startCluster({ ids: ["a", "b", "c"] });
  const servers: ReturnType<typeof serve>[] = [];
  const clients: SseClient[] = [];
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const other = cluster.nodes.find((n) => n !== leader && n !== follower)!;
    const server = serve(follower.app);
    servers.push(server);
    const sse = await SseClient.open(`${server.url}/v1/watch?prefix=k/&fromRevision=1`);
    clients.push(sse);
    const acked: number[] = [];
    for (let i = 0; i < 10; i++) acked.push((await put(leader, `k/${i % 3}`, `old-${i}`)).revision);
    // Cut the leader off; the two others elect a new one and carry on.
    cluster.net.isolate(leader.replica.id);
    const next = await cluster.leader([follower, other]);
    assert.notEqual(next, leader);
    for (let i = 0; i < 10; i++) acked.push((await put(next, `k/${i % 3}`, `new-${i}`)).revision);
    const events = await sse.take(acked.length);
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      acked,
      "every acknowledged write, once, in order",
    );
    assert.deepEqual(
      events.map((e) => JSON.parse(e.data).value),
      [
        ...Array.from({ length: 10 }, (_, i) => `old-${i}`),
        ...Array.from({ length: 10 }, (_, i) => `new-${i}`),
      ],
    );
    // The old leader rejoins; the stream still goes on from the same log.
    cluster.net.heal();
    const more = await put(next, "k/after-heal", "v");
    assert.equal((await sse.next()).id, String(more.revision));
    // Ids are the same on every node: resume the follower's stream on the other node.
    const otherServer = serve(other.app);
    servers.push(otherServer);
    const resumed = await SseClient.open(`${otherServer.url}/v1/watch?prefix=k/`, {
      "last-event-id": String(events[9].id),
    });
    clients.push(resumed);
    const rest: SseEvent[] = await resumed.take(11);
    assert.deepEqual(rest.slice(0, 10), events.slice(10));
    assert.equal(rest[10].id, String(more.revision));
  } finally {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
    await cluster.close();
  }
});

Deno.test("cluster: listing and transactions through a follower", async () => {
  const cluster = await startCluster({ ids: ["a", "b", "c"] });
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const res = await follower.app.request("/v1/txn", {
      method: "POST",
      body: JSON.stringify({
        compare: [{ key: "f/x", target: "exists", op: "==", value: false }],
        success: [{ op: "put", key: "f/x", value: "1" }, { op: "put", key: "f/y", value: "2" }],
      }),
    });
    assert.equal(res.status, 200);
    const txn = await json(res);
    assert.equal(txn.succeeded, true);
    // Linearizable by default: every node lists the txn's writes at once.
    for (const n of cluster.nodes) {
      const page = await json(await n.app.request("/v1/kv?prefix=f/"));
      assert.deepEqual(
        (page.items as { key: string; revision: number }[]).map((i) => [i.key, i.revision]),
        [
          ["f/x", txn.revision],
          ["f/y", txn.revision],
        ],
      );
    }
    // A follower cut off from the others: serializable listing works, linearizable does not.
    cluster.net.isolate(follower.replica.id);
    const stale = await follower.app.request("/v1/kv?prefix=f/&consistency=serializable");
    assert.equal(stale.status, 200);
    assert.equal(((await json(stale)).items as unknown[]).length, 2);
    const refused = await follower.app.request("/v1/kv?prefix=f/");
    assert.ok([503, 504].includes(refused.status), `status ${refused.status}`);
    await refused.body?.cancel();
  } finally {
    await cluster.close();
  }
});

Deno.test("cluster: a follower that installs a snapshot ends its watches (410), then serves new ones", async () => {
  const cluster = await startCluster({ ids: ["a", "b", "c"], snapshotEntries: 20 });
  const servers: ReturnType<typeof serve>[] = [];
  const clients: SseClient[] = [];
  try {
    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n !== leader)!;
    const server = serve(follower.app);
    servers.push(server);
    const sse = await SseClient.open(`${server.url}/v1/watch?prefix=s/`);
    clients.push(sse);
    const first = await put(leader, "s/0", "v");
    assert.equal((await sse.next()).id, String(first.revision));
    // While the follower is away, the others write and compact past what it has.
    cluster.net.isolate(follower.replica.id);
    const rest = cluster.nodes.filter((n) => n !== follower);
    const writer = await cluster.leader(rest);
    let last = first;
    for (let i = 1; i <= 60; i++) last = await put(writer, `s/${i % 7}`, `v${i}`);
    cluster.net.heal();
    // The follower catches up by snapshot: its watch cannot know what it missed.
    const ended = await sse.ended(5000);
    const error = ended[ended.length - 1];
    assert.equal(error.event, "error");
    const data = JSON.parse(error.data);
    assert.equal(data.status, 410);
    assert.equal(data.reason, "restored");
    // A new watch from the follower's revision + 1 (after reading the state) works.
    const deadline = Date.now() + 5000;
    while (follower.replica.sm.revision < last.revision && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const fresh = await SseClient.open(
      `${server.url}/v1/watch?prefix=s/&fromRevision=${follower.hub.oldestRevision}`,
    );
    clients.push(fresh);
    const after = await put(writer, "s/new", "v");
    const ids: number[] = [];
    while (ids.at(-1) !== after.revision) ids.push(Number((await fresh.next()).id));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), `in order: ${ids}`);
    assert.ok(ids[0] >= follower.hub.oldestRevision);
  } finally {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
    await cluster.close();
  }
});
