// A 3-node cluster of real processes against the documented HTTP contract (API.md §3):
// election, forwarding, linearizable and serializable reads, revisions and versions,
// headers, redirects, status/health shapes, and problem+json errors.

import assert from "node:assert/strict";
import { type Cluster, waitFor, withCluster } from "./harness.ts";
import {
  deleteResultSchema,
  type HttpResult,
  kvPath,
  problemSchema,
  putResult,
} from "./kv_client.ts";

const STEP = { sanitizeOps: false, sanitizeResources: false } as const;
const MIB = 1024 * 1024;

function assertProblem(result: HttpResult, status: number, detail?: RegExp): void {
  assert.equal(result.status, status, result.text);
  assert.match(result.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = problemSchema.parse(result.json());
  assert.equal(body.status, status);
  if (detail !== undefined) assert.match(body.detail, detail);
}

function followersOf(cluster: Cluster, leader: string): string[] {
  return cluster.ids.filter((id) => id !== leader);
}

Deno.test("cluster basics: the HTTP contract on 3 real nodes", async (t) => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    // Each step asks who leads right before it relies on it: a loaded machine may see an
    // election between steps, and that is not what these steps are about.
    const current = async () => {
      const { leader } = await cluster.waitForLeader(15_000);
      return { leader, followers: followersOf(cluster, leader) };
    };
    await t.step({
      ...STEP,
      name: "status has the documented shape on every node; health is 200",
      fn: async () => checkStatusAndHealth(cluster, (await current()).leader),
    });
    await t.step({
      ...STEP,
      name: "a write through any node is read back from every node",
      fn: () => checkWriteThroughEveryNode(cluster),
    });
    await t.step({
      ...STEP,
      name: "revisions increase; versions count per key and reset after delete",
      fn: async () => {
        const { leader, followers } = await current();
        await checkRevisionsAndVersions(cluster, leader, followers);
      },
    });
    await t.step({
      ...STEP,
      name: "values are raw bytes; keys are percent-decoded UTF-8 path segments",
      fn: async () => checkBytesAndKeys(cluster, (await current()).followers[0]),
    });
    await t.step({
      ...STEP,
      name: "?redirect on a follower answers 307 to the leader's URL",
      fn: async () => {
        const { leader, followers } = await current();
        await checkRedirect(cluster, leader, followers[0]);
      },
    });
    await t.step({
      ...STEP,
      name: "bad input is a 400/413 problem+json naming the field; nothing is stored",
      fn: async () => checkBadInput(cluster, (await current()).followers[1]),
    });
  });
});

async function checkStatusAndHealth(cluster: Cluster, leader: string): Promise<void> {
  const leaderClient = cluster.spec(leader).client;
  // Peers connect within a heartbeat or two of the election; give them time under load.
  const statuses = await waitFor(
    "every member connected in the leader's view",
    10_000,
    async () => {
      const status = await cluster.client(leader).status();
      return status.members.every((m) => m.connected === true) ? status : null;
    },
  );
  assert.equal(statuses.role, "leader");
  for (const id of cluster.ids) {
    const status = await cluster.client(id).status(); // the zod schema checks the shape
    assert.equal(status.id, id);
    assert.equal(status.role, id === leader ? "leader" : "follower");
    assert.deepEqual(status.leader, { id: leader, client: leaderClient });
    assert.ok(status.term >= 1);
    assert.ok(status.appliedIndex <= status.commitIndex, JSON.stringify(status));
    assert.ok(status.commitIndex <= status.lastLogIndex, JSON.stringify(status));
    assert.ok(status.snapshotIndex <= status.appliedIndex, JSON.stringify(status));
    // Every member, this node included, with the addresses of the cluster file.
    assert.deepEqual(status.members.map((m) => m.id).sort(), [...cluster.ids].sort());
    for (const member of status.members) {
      const spec = cluster.spec(member.id);
      assert.equal(member.client, spec.client);
      assert.equal(member.peer, spec.peer);
      assert.equal(member.voter, true);
    }
    const health = await cluster.client(id).health();
    assert.equal(health.status, 200, `${id}: ${health.text}`);
  }
  // The leader knows how far each follower has replicated.
  const leaderStatus = await cluster.client(leader).status();
  for (const member of leaderStatus.members) {
    assert.equal(typeof member.matchIndex, "number", JSON.stringify(member));
  }
}

async function checkWriteThroughEveryNode(cluster: Cluster): Promise<void> {
  for (const via of cluster.ids) {
    const key = `basic/via-${via}`;
    const put = putResult(await cluster.client(via).put(key, `written through ${via}`));
    assert.equal(put.version, 1);
    for (const reader of cluster.ids) {
      // Linearizable by default: an acknowledged write is visible at once, on any node.
      const got = await cluster.client(reader).get(key);
      assert.equal(got.status, 200, `${reader}: ${got.text}`);
      assert.equal(got.text, `written through ${via}`);
      assert.equal(got.headers.get("etag"), `"${put.revision}"`);
      // Serializable reads the local replica: it may lag, but catches up.
      await waitFor(`${reader} to serve ${key} serializably`, 10_000, async () => {
        const local = await cluster.client(reader).get(key, {
          query: { consistency: "serializable" },
        });
        return local.status === 200 && local.text === `written through ${via}` ? true : null;
      });
    }
  }
}

async function checkRevisionsAndVersions(
  cluster: Cluster,
  leader: string,
  followers: string[],
): Promise<void> {
  const key = "basic/counter";
  const vias = [followers[0], leader, followers[1]];
  let lastRevision = 0;
  for (const [i, via] of vias.entries()) {
    const put = putResult(await cluster.client(via).put(key, `v${i + 1}`));
    assert.ok(put.revision > lastRevision, `revision ${put.revision} after ${lastRevision}`);
    assert.equal(put.version, i + 1);
    lastRevision = put.revision;
    const got = await cluster.client(followers[1]).get(key);
    assert.equal(got.status, 200);
    assert.equal(got.text, `v${i + 1}`);
    assert.equal(got.headers.get("etag"), `"${put.revision}"`);
    assert.equal(got.headers.get("x-kv-version"), String(i + 1));
    assert.ok(Number(got.headers.get("x-kv-revision")) >= put.revision);
    assert.equal(got.headers.get("x-kv-expires-at"), null, "no TTL was set");
  }
  // A write to another key also advances the cluster-wide revision.
  const other = putResult(await cluster.client(leader).put("basic/other", "x"));
  assert.ok(other.revision > lastRevision);

  const deleted = await cluster.client(followers[0]).del(key);
  assert.equal(deleted.status, 200, deleted.text);
  const { revision: deleteRevision } = deleteResultSchema.parse(deleted.json());
  assert.ok(deleteRevision > other.revision);
  for (const reader of cluster.ids) {
    assertProblem(await cluster.client(reader).get(key), 404);
  }
  assertProblem(await cluster.client(leader).del(key), 404);

  const again = putResult(await cluster.client(followers[1]).put(key, "reborn"));
  assert.equal(again.version, 1, "the version starts over after a delete");
  assert.ok(again.revision > deleteRevision);
}

async function checkBytesAndKeys(cluster: Cluster, follower: string): Promise<void> {
  const bytes = crypto.getRandomValues(new Uint8Array(4096));
  const put = await cluster.client(follower).put("basic/binary", bytes, {
    headers: { "content-type": "application/octet-stream" },
  });
  assert.equal(put.status, 200, put.text);
  for (const reader of cluster.ids) {
    const got = await cluster.client(reader).get("basic/binary");
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, bytes);
  }
  // Empty values are values.
  putResult(await cluster.client(follower).put("basic/empty", ""));
  const empty = await cluster.client(follower).get("basic/empty");
  assert.equal(empty.status, 200);
  assert.equal(empty.body.byteLength, 0);

  const key = "ключ/α β?#%";
  putResult(await cluster.client(follower).put(key, "unicode"));
  const got = await cluster.client(follower).get(key);
  assert.equal(got.status, 200);
  assert.equal(got.text, "unicode");

  const longest = "k".repeat(1024); // 1-1024 bytes: the upper bound is allowed
  putResult(await cluster.client(follower).put(longest, "long key"));
  assert.equal((await cluster.client(follower).get(longest)).text, "long key");

  const missing = await cluster.client(follower).get("basic/never-written");
  assertProblem(missing, 404);
}

async function checkRedirect(cluster: Cluster, leader: string, follower: string): Promise<void> {
  const leaderClient = cluster.spec(leader).client;
  const path = kvPath("basic/redirected");

  const put = await cluster.client(follower).put("basic/redirected", "via redirect", {
    query: { redirect: "" },
  });
  assert.equal(put.status, 307, put.text);
  const location = new URL(put.headers.get("location") ?? "", cluster.spec(follower).client);
  assert.equal(location.origin, leaderClient);
  assert.equal(location.pathname, path);
  // The follower did not apply it: the client is expected to repeat it at Location.
  assertProblem(await cluster.client(leader).get("basic/redirected"), 404);
  const repeated = await cluster.client(leader).request(
    "PUT",
    location.pathname + location.search,
    {
      body: "via redirect",
    },
  );
  assert.equal(repeated.status, 200, repeated.text);

  const get = await cluster.client(follower).get("basic/redirected", { query: { redirect: "" } });
  assert.equal(get.status, 307, get.text);
  const getLocation = new URL(get.headers.get("location") ?? "", cluster.spec(follower).client);
  assert.equal(getLocation.origin, leaderClient);
  assert.equal(getLocation.pathname, path);

  const del = await cluster.client(follower).del("basic/redirected", { query: { redirect: "" } });
  assert.equal(del.status, 307, del.text);

  // The leader itself serves a request that asks for redirects.
  const atLeader = await cluster.client(leader).get("basic/redirected", {
    query: { redirect: "" },
  });
  assert.equal(atLeader.status, 200, atLeader.text);
  assert.equal(atLeader.text, "via redirect");
}

async function checkBadInput(cluster: Cluster, via: string): Promise<void> {
  const node = cluster.client(via);
  assertProblem(await node.request("PUT", "/v1/kv/", { body: "x" }), 400, /key/i);
  assertProblem(await node.request("GET", "/v1/kv/", {}), 400, /key/i);

  const tooLongKey = "k".repeat(1025);
  assertProblem(await node.put(tooLongKey, "x"), 413, /key/i);
  // 1024 bytes of UTF-8 is the limit, not 1024 characters.
  const tooLongUtf8 = "é".repeat(513); // 1026 bytes
  assertProblem(await node.put(tooLongUtf8, "x"), 413, /key/i);

  const atLimit = new Uint8Array(MIB);
  const accepted = await node.put("basic/one-mib", atLimit);
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal((await node.get("basic/one-mib")).body.byteLength, MIB);

  const overLimit = new Uint8Array(MIB + 1);
  assertProblem(await node.put("basic/too-big", overLimit), 413, /value/i);
  assertProblem(await node.get("basic/too-big"), 404);

  assertProblem(
    await node.get("basic/counter", { query: { consistency: "sometimes" } }),
    400,
    /consistency/,
  );
  assertProblem(await node.put("basic/ttl", "x", { query: { ttl: "soon" } }), 400, /ttl/);
  assertProblem(await node.get("basic/ttl"), 404);
  assertProblem(
    await node.put("basic/if-match", "x", { headers: { "if-match": "not-a-revision" } }),
    400,
    /if-match/i,
  );
}
