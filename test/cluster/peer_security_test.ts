// The peer port (API.md §6): a peer must prove it knows the cluster secret before any frame
// is accepted, and no frame — before or after that proof — can crash a node.

import assert from "node:assert/strict";
import { type Cluster, waitFor, withCluster } from "./harness.ts";
import { putAcked } from "./kv_client.ts";
import { dialAs, garbageFrames, RawPeerSocket } from "./peer_wire.ts";

const STEP = { sanitizeOps: false, sanitizeResources: false } as const;
const WRONG_SECRET = "not-the-cluster-secret";

Deno.test("peer security: wrong secrets are refused, garbage never crashes a node", async (t) => {
  await withCluster({ nodes: 3 }, async (cluster) => {
    await cluster.waitForLeader(15_000);
    const secret = String(cluster.config.secret);

    await t.step({
      ...STEP,
      name: "a handshake with a wrong MAC is refused and logged; the right one is welcomed",
      fn: () => wrongMacRefused(cluster, secret),
    });
    await t.step({
      ...STEP,
      name: "garbage before authentication closes the socket; every node lives on",
      fn: () => garbageBeforeAuth(cluster),
    });
    await t.step({
      ...STEP,
      name: "garbage after authentication is dropped; the cluster goes on",
      fn: () => garbageAfterAuth(cluster, secret),
    });
    await t.step({
      ...STEP,
      name: "a node started with the wrong secret stays cut off until it has the right one",
      fn: () => wrongSecretNode(cluster),
    });
  });
});

async function wrongMacRefused(cluster: Cluster, secret: string): Promise<void> {
  // n1 may dial n3 (lower ids dial higher ones); claim to be n1 with a wrong secret.
  const mark = cluster.logMark("n3");
  const wrong = await RawPeerSocket.open(cluster.spec("n3").peer);
  try {
    const answer = await dialAs(wrong, "n1", "n3", WRONG_SECRET);
    assert.equal(
      answer.type,
      "closed",
      `expected the socket closed, got ${JSON.stringify(answer)}`,
    );
  } finally {
    await wrong.close();
  }
  await cluster.waitForLog("n3", /auth.*(fail|refus)|wrong secret/i, 5000, mark);

  // Control: the same handshake with the right secret is welcomed, so the refusal above was
  // the MAC's doing. (This briefly displaces n1's own link to n3; n1 reconnects.)
  const right = await RawPeerSocket.open(cluster.spec("n3").peer);
  try {
    const answer = await dialAs(right, "n1", "n3", secret);
    assert.ok(
      answer.type === "frame" && answer.frame.kind === "welcome",
      `expected a welcome, got ${JSON.stringify(answer)}`,
    );
  } finally {
    await right.close();
  }
  await allConnected(cluster);
}

async function garbageBeforeAuth(cluster: Cluster): Promise<void> {
  for (const id of cluster.ids) {
    for (const { name, data } of garbageFrames("n1", id)) {
      const socket = await RawPeerSocket.open(cluster.spec(id).peer);
      try {
        await socket.next(); // the acceptor's opening move
        socket.send(data);
        await socket.untilClosed(5000).catch((err) => {
          throw new Error(`${id} kept the socket open after ${name}: ${err.message}`);
        });
      } finally {
        await socket.close();
      }
    }
    // Not even a WebSocket.
    const plain = await cluster.client(id).request(
      "GET",
      cluster.spec(id).peer.replace("ws:", "http:"),
    );
    assert.ok(plain.status >= 400, `${id} peer port answered plain HTTP ${plain.status}`);
  }
  await nodesAlive(cluster, cluster.ids);
  await putAcked(() => cluster.client("n2"), "security/after-garbage", "still here");
}

async function garbageAfterAuth(cluster: Cluster, secret: string): Promise<void> {
  // Take n1's place on n2 and n3 (so nothing displaces us), then send garbage as n1.
  await cluster.kill("n1", "SIGKILL");
  const marks = { n2: cluster.logMark("n2"), n3: cluster.logMark("n3") };
  const sockets: RawPeerSocket[] = [];
  try {
    for (const id of ["n2", "n3"]) {
      const socket = await RawPeerSocket.open(cluster.spec(id).peer);
      sockets.push(socket);
      const answer = await dialAs(socket, "n1", id, secret);
      assert.ok(answer.type === "frame" && answer.frame.kind === "welcome", JSON.stringify(answer));
      for (const { data } of garbageFrames("n1", id)) socket.send(data);
    }
    // "counted, logged and dropped" (API.md §6).
    const dropped = /n1.*(malformed|dropped|invalid)/i;
    await cluster.waitForLog("n2", dropped, 5000, marks.n2);
    await cluster.waitForLog("n3", dropped, 5000, marks.n3);
    await nodesAlive(cluster, ["n2", "n3"]);
    await cluster.waitForLeader(10_000, ["n2", "n3"]);
    await putAcked(() => cluster.client("n3"), "security/after-auth-garbage", "n2+n3 commit");
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
  }
  cluster.start("n1");
  await cluster.waitForLeader(15_000);
  await allConnected(cluster);
}

async function wrongSecretNode(cluster: Cluster): Promise<void> {
  const badConfig = await cluster.writeConfigVariant("nodes_wrong_secret.json", {
    secret: WRONG_SECRET,
  });
  await cluster.kill("n3", "SIGKILL");
  const marks = { n1: cluster.logMark("n1"), n3: cluster.logMark("n3") };
  cluster.start("n3", { configPath: badConfig });
  // n1 and n2 dial n3: each side refuses the other's proof.
  await cluster.waitForLog("n3", /auth.*(fail|refus)|wrong secret/i, 15_000, marks.n3);
  await cluster.waitForLog("n1", /n3.*(auth|refus)|(auth|refus).*n3/i, 10_000, marks.n1);

  const { leader } = await cluster.waitForLeader(10_000, ["n1", "n2"]);
  const written = await putAcked(() => cluster.client("n1"), "security/without-n3", "quorum of 2");
  for (const id of ["n1", "n2"]) {
    const status = await cluster.client(id).status();
    const n3 = status.members.find((m) => m.id === "n3");
    assert.notEqual(n3?.connected, true, `${id} shows n3 connected: ${JSON.stringify(n3)}`);
  }
  // n3 heard nothing: no leader, and not the write (read from its own replica). Its status
  // is read raw: the role of a node that cannot win is not what this step checks.
  const n3Status = (await cluster.client("n3").request("GET", "/v1/status")).json() as {
    leader: unknown;
    appliedIndex: number;
  };
  assert.equal(n3Status.leader, null, JSON.stringify(n3Status));
  assert.ok(n3Status.appliedIndex < written.revision, JSON.stringify(n3Status));
  const stale = await cluster.client("n3").get("security/without-n3", {
    query: { consistency: "serializable" },
  });
  assert.equal(stale.status, 404, stale.text);

  // With the right secret it joins and catches up.
  await cluster.kill("n3", "SIGTERM");
  cluster.start("n3");
  await waitFor("n3 to catch up with the right secret", 15_000, async () => {
    const got = await cluster.client("n3").get("security/without-n3", {
      query: { consistency: "serializable" },
    });
    return got.status === 200 ? true : null;
  });
  await allConnected(cluster, leader);
}

async function nodesAlive(cluster: Cluster, ids: string[]): Promise<void> {
  assert.deepEqual(cluster.crashes, []);
  for (const id of ids) {
    assert.notEqual(cluster.pid(id), null, `${id} is gone`);
    const status = await cluster.client(id).request("GET", "/v1/status");
    assert.equal(status.status, 200, `${id}: ${status.text}`);
  }
}

/** Every member connected in the leader's view. */
async function allConnected(cluster: Cluster, leader?: string): Promise<void> {
  await waitFor("every member connected", 10_000, async () => {
    const id = leader ?? (await cluster.waitForLeader(2000)).leader;
    const status = await cluster.client(id).status();
    return status.members.every((m) => m.connected === true) ? true : null;
  });
}
