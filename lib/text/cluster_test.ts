// Three in-memory replicas, each with its own text server: followers redirect to the leader's
// text address, or with --text-forward execute themselves (writes forwarded over Raft, reads by
// ReadIndex) while keeping each connection's program order.

import assert from "node:assert/strict";
import type { Replica } from "../replica/replica.ts";
import type { TextMember } from "./execute.ts";
import type { TextServer } from "./server.ts";
import {
  encoder,
  ERR,
  OK,
  startTestServer,
  stopAll,
  TextClient,
  type TextReply,
  threeReplicas,
  VALUE,
  waitForLeader,
} from "./test_helpers.ts";

interface Cluster {
  replicas: Replica[];
  servers: TextServer[];
  members: TextMember[];
  leader: Replica;
  followers: Replica[];
  port(r: Replica): number;
}

async function withCluster(textForward: boolean, fn: (c: Cluster) => Promise<void>) {
  const replicas = await threeReplicas();
  // Filled in once the servers have their ports: servers read it on every redirect.
  const members: TextMember[] = [];
  const servers = replicas.map((replica) => startTestServer(replica, { members, textForward }));
  replicas.forEach((r, i) => {
    members.push({ id: r.id, text: { hostname: "127.0.0.1", port: servers[i].port } });
  });
  const leader = replicas.find((r) => r.node.role === "leader")!;
  try {
    await fn({
      replicas,
      servers,
      members,
      leader,
      followers: replicas.filter((r) => r !== leader),
      port: (r) => servers[replicas.indexOf(r)].port,
    });
  } finally {
    for (const s of servers) await s.close();
    await stopAll(replicas);
  }
}

Deno.test("text cluster: a follower answers ERR_REDIRECT with the leader's text address", async () => {
  await withCluster(false, async (cluster) => {
    const follower = await TextClient.connect(cluster.port(cluster.followers[0]));
    try {
      await follower.send("set k 0 1\r\na\r\nget k\r\ngetm k\r\ncas k 0 1 1\r\nb\r\ndelete k\r\n");
      const redirect = { type: "redirect", host: "127.0.0.1", port: cluster.port(cluster.leader) };
      assert.deepEqual(await follower.replies(5), Array(5).fill(redirect));
      // Bad input is still bad input on a follower.
      await follower.send("bogus\r\nset k x 1\r\na\r\n");
      assert.deepEqual(await follower.replies(2), [ERR("ERR_CMD_ERR"), ERR("ERR_CMD_ERR")]);
    } finally {
      follower.close();
    }
    // Following the redirect works.
    const leader = await TextClient.connect(cluster.port(cluster.leader));
    try {
      await leader.send("set k 0 1\r\na\r\nget k\r\n");
      assert.deepEqual(await leader.replies(2), [OK(1), VALUE("a")]);
    } finally {
      leader.close();
    }
    // A leader without a text listener: nowhere to redirect.
    const entry = cluster.members.find((m) => m.id === cluster.leader.id)!;
    entry.text = null;
    const again = await TextClient.connect(cluster.port(cluster.followers[1]));
    try {
      await again.send("get k\r\n");
      assert.deepEqual(await again.reply(), ERR("ERR_INTERNAL"));
    } finally {
      again.close();
    }
  });
});

Deno.test("text cluster: by default redirects use the replicated configuration's addresses", async () => {
  const textAddresses: Record<string, string> = { a: "10.0.0.1:9001", b: "[::1]:9002" }; // c: none
  const expected: Record<string, TextReply> = {
    a: { type: "redirect", host: "10.0.0.1", port: 9001 },
    b: { type: "redirect", host: "::1", port: 9002 },
    c: ERR("ERR_INTERNAL"),
  };
  const replicas = await threeReplicas({ textAddresses });
  // No members given: each server asks replica.members().
  const servers = replicas.map((r) => startTestServer(r));
  try {
    for (const target of ["a", "b", "c"]) {
      // Hand leadership to each member in turn (§3.10) and ask one of its followers.
      let leader = await waitForLeader(replicas);
      if (leader.id !== target) {
        assert.equal((await leader.transferLeadership(target)).type, "ok");
        leader = await waitForLeader(replicas);
      }
      const follower = replicas.findIndex((r) => r !== leader);
      const client = await TextClient.connect(servers[follower].port);
      try {
        await client.send("get k\r\nset k 0 1\r\nx\r\n");
        assert.deepEqual(await client.replies(2), [expected[target], expected[target]]);
      } finally {
        client.close();
      }
    }
  } finally {
    for (const s of servers) await s.close();
    await stopAll(replicas);
  }
});

Deno.test("text cluster: with --text-forward followers execute every command", async () => {
  await withCluster(true, async (cluster) => {
    const [b, c] = await Promise.all(
      cluster.followers.map((f) => TextClient.connect(cluster.port(f))),
    );
    try {
      await b.send("set k 0 5\r\nhello\r\n");
      assert.deepEqual(await b.reply(), OK(1));
      // Linearizable: the other follower sees the acknowledged write at once.
      await c.send("get k\r\ngetm k\r\ncas k 0 1 2\r\nhi\r\ncas k 0 1 2\r\nho\r\n");
      assert.deepEqual(await c.replies(4), [
        VALUE("hello"),
        { type: "valueMeta", version: 1, exptime: 0, value: encoder.encode("hello") },
        OK(2),
        ERR("ERR_VERSION"),
      ]);
      await b.send("get k\r\ndelete k\r\ndelete k\r\nget k\r\n");
      assert.deepEqual(await b.replies(4), [
        VALUE("hi"),
        { type: "deleted" },
        ERR("ERR_NOT_FOUND"),
        ERR("ERR_NOT_FOUND"),
      ]);
    } finally {
      b.close();
      c.close();
    }
  });
});

Deno.test("text cluster: pipelined reads keep program order on leader and forwarding follower", async () => {
  await withCluster(true, async (cluster) => {
    for (const node of [cluster.leader, cluster.followers[0]]) {
      const client = await TextClient.connect(cluster.port(node));
      try {
        // Each get must see the set before it and not the one after it.
        const key = `order-${node.id}`;
        let input = "";
        const expected: TextReply[] = [];
        for (let i = 0; i < 100; i++) {
          const [a, b] = [`a${i}`, `b${i}`];
          input += `set ${key} 0 ${a.length}\r\n${a}\r\nget ${key}\r\n`;
          input += `set ${key} 0 ${b.length}\r\n${b}\r\ngetm ${key}\r\n`;
          expected.push(OK(2 * i + 1), VALUE(a), OK(2 * i + 2), {
            type: "valueMeta",
            version: 2 * i + 2,
            exptime: 0,
            value: encoder.encode(b),
          });
        }
        await client.send(input);
        assert.deepEqual(await client.replies(expected.length), expected, `via ${node.id}`);
      } finally {
        client.close();
      }
    }
  });
});
