import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import { MemoryNetwork } from "./memory_transport.ts";
import { sampleMessages } from "./sample_messages.ts";
import type { PeerMessage } from "./transport.ts";

function heartbeat(from: string, to: string, readSeq: number): Message {
  return { from, to, term: 1, type: "heartbeat", commitIndex: 0, readSeq };
}

async function cluster(network: MemoryNetwork, ids: string[]) {
  const received = new Map<string, PeerMessage[]>();
  const transports = ids.map((id) => network.transport(id, { now: () => 1000 }));
  for (const t of transports) {
    await t.start();
    t.setPeers(ids.map((id) => ({ id, peer: `memory://${id}` })));
    const inbox: PeerMessage[] = [];
    received.set(t.id, inbox);
    t.onMessage((m) => inbox.push(m));
  }
  return { transports, received };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("memory: delivery is asynchronous and copies the message", async () => {
  const network = new MemoryNetwork();
  const { transports: [a], received } = await cluster(network, ["n1", "n2"]);
  const msg = sampleMessages("n1", "n2").find((m) => m.type === "append")!;
  a.send(msg);
  assert.equal(received.get("n2")!.length, 0, "not delivered inside send()");
  await tick();
  const got = received.get("n2")![0];
  assert.deepEqual(got, msg);
  assert.ok(got.type === "append" && msg.type === "append");
  assert.notEqual(got.entries[0].data, msg.entries[0].data);
});

Deno.test("memory: partition cuts both directions and messages in flight; heal restores", async () => {
  const network = new MemoryNetwork();
  const { transports: [a, b, c], received } = await cluster(network, ["n1", "n2", "n3"]);
  a.send(heartbeat("n1", "n2", 1)); // in flight when the link is cut
  network.partition("n1", "n2");
  a.send(heartbeat("n1", "n2", 2));
  b.send(heartbeat("n2", "n1", 3));
  a.send(heartbeat("n1", "n3", 4));
  await tick();
  assert.equal(received.get("n2")!.length, 0);
  assert.equal(received.get("n1")!.length, 0);
  assert.equal(received.get("n3")!.length, 1);
  assert.equal(a.peerStatus().get("n2")?.connected, false);
  assert.equal(a.peerStatus().get("n3")?.connected, true);
  assert.deepEqual(a.peerStatus().get("n3"), { connected: true, lastContactMs: null });
  assert.equal(a.stats().framesDropped, 1);
  assert.equal(b.stats().framesDropped, 1);

  network.isolate("n3");
  c.send(heartbeat("n3", "n1", 5));
  network.heal();
  a.send(heartbeat("n1", "n2", 6));
  b.send(heartbeat("n2", "n1", 7));
  await tick();
  assert.deepEqual(received.get("n2")!.map((m) => m.type === "heartbeat" && m.readSeq), [6]);
  assert.deepEqual(received.get("n1")!.map((m) => m.type === "heartbeat" && m.readSeq), [7]);
  assert.equal(c.stats().framesDropped, 1);
  assert.deepEqual(b.peerStatus().get("n1"), { connected: true, lastContactMs: 0 });
  for (const t of [a, b, c]) await t.close();
});

Deno.test("memory: the per-peer in-flight bound drops the excess", async () => {
  const network = new MemoryNetwork();
  const a = network.transport("n1", { sendQueueMax: 3 });
  const b = network.transport("n2");
  const peers = [{ id: "n1", peer: "" }, { id: "n2", peer: "" }];
  let count = 0;
  b.onMessage(() => count++);
  for (const t of [a, b]) {
    await t.start();
    t.setPeers(peers);
  }
  for (let i = 0; i < 10; i++) a.send(heartbeat("n1", "n2", i));
  assert.deepEqual(a.stats(), {
    framesSent: 3,
    framesReceived: 0,
    framesDropped: 7,
    framesMalformed: 0,
    authFailures: 0,
  });
  await tick();
  assert.equal(count, 3);
  a.send(heartbeat("n1", "n2", 10));
  await tick();
  assert.equal(count, 4, "the bound counts messages in flight, not ever sent");
});

Deno.test("memory: a restarted node replaces its predecessor", async () => {
  const network = new MemoryNetwork();
  const { transports: [a, b] } = await cluster(network, ["n1", "n2"]);
  await b.close();
  a.send(heartbeat("n1", "n2", 1));
  assert.equal(a.stats().framesDropped, 1);
  const b2 = network.transport("n2");
  const got: PeerMessage[] = [];
  b2.onMessage((m) => got.push(m));
  await b2.start();
  b2.setPeers([{ id: "n1", peer: "" }]);
  a.send(heartbeat("n1", "n2", 2));
  await tick();
  assert.equal(got.length, 1);
  await b.close(); // closing the old one again must not unregister the new one
  assert.equal(network.linked("n1", "n2"), true);
});
