// Membership and leadership on real processes: a new node joins as a learner and is promoted
// (dissertation §4.1, §4.2.1), leadership is handed over on request (§3.10), the leader itself
// is removed, and a leader stopped with SIGTERM hands off before it exits.

import assert from "node:assert/strict";
import { waitFor, withCluster } from "./harness.ts";

interface Member {
  id: string;
  voter: boolean;
}

Deno.test("membership: join, promote, transfer to the newcomer, remove the leader, SIGTERM hand-off", async () => {
  await withCluster({ nodes: 4, autoStart: false }, async (cluster) => {
    // n1..n3 bootstrap the cluster from a file that lists only them; n4 has the full file
    // (its own addresses) and starts with --join.
    const founders = ["n1", "n2", "n3"];
    const three = await cluster.writeConfigVariant("three", {
      nodes: founders.map((id) => {
        const s = cluster.spec(id);
        return { id, client: s.client, peer: s.peer };
      }),
    });
    for (const id of founders) cluster.start(id, { configPath: three });
    const { leader } = await cluster.waitForLeader(10_000, founders);
    const acked = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const r = await cluster.client(founders[i % 3]).put(`k${i}`, `v${i}`);
      assert.equal(r.status, 200);
      acked.set(`k${i}`, `v${i}`);
    }

    cluster.start("n4", { args: ["--join"] });
    const follower = founders.find((id) => id !== leader)!;
    const n4 = cluster.spec("n4");
    const add = await cluster.client(follower).request("POST", "/v1/members", {
      body: JSON.stringify({ id: "n4", client: n4.client, peer: n4.peer }),
      timeoutMs: 15_000,
    });
    assert.equal(add.status, 200, add.text);
    // It catches up and is promoted automatically once close to the leader.
    await waitFor("n4 promoted to voter", 15_000, async () => {
      const r = await cluster.client(leader).request("GET", "/v1/members");
      const members = (r.json() as { members: Member[] }).members;
      return members.find((m) => m.id === "n4")?.voter === true ? true : null;
    });
    await waitFor("n4 has every acknowledged write", 15_000, async () => {
      const r = await cluster.client("n4").get("k19", { query: { consistency: "serializable" } });
      return r.status === 200 && r.text === "v19" ? true : null;
    });

    // Hand leadership to the newcomer, asking any node.
    const transfer = await cluster.client(follower).request("POST", "/v1/leader/transfer", {
      body: JSON.stringify({ to: "n4" }),
      timeoutMs: 15_000,
    });
    assert.equal(transfer.status, 200, transfer.text);
    assert.equal((transfer.json() as { leader: string }).leader, "n4");
    await cluster.waitForLeader(10_000, ["n1", "n2", "n3", "n4"]);

    // Remove the leader itself: it steps down once the change commits, the rest go on.
    const remove = await cluster.client("n1").request("DELETE", "/v1/members/n4", {
      timeoutMs: 15_000,
    });
    assert.equal(remove.status, 200, remove.text);
    const after = await cluster.waitForLeader(10_000, founders);
    assert.notEqual(after.leader, "n4");
    const w = await cluster.client(founders[0]).put("after-removal", "ok");
    assert.equal(w.status, 200, w.text);
    const members = (await cluster.client(after.leader).request("GET", "/v1/members"))
      .json() as { members: Member[] };
    assert.deepEqual(members.members.map((m) => m.id), founders);
    await cluster.kill("n4", "SIGTERM");

    // A leader asked to stop hands leadership off before it exits.
    const mark = cluster.logMark(after.leader);
    await cluster.kill(after.leader, "SIGTERM");
    await cluster.waitForLog(after.leader, /handed leadership to n\d/, 5_000, mark);
    const rest = founders.filter((id) => id !== after.leader);
    await cluster.waitForLeader(10_000, rest);
    for (const [key, value] of acked) {
      const r = await cluster.client(rest[0]).get(key);
      assert.equal(r.text, value, `${key} survived every change`);
    }
  });
});
