// The contract every Transport honours, as a test suite run against each implementation
// (contract_test.ts). Fixtures and helpers are exported for the implementation-specific tests.

import assert from "node:assert/strict";
import type { Message, NodeId } from "../raft/types.ts";
import { sampleMessages } from "./sample_messages.ts";
import type { PeerAddress, PeerMessage, Transport } from "./transport.ts";

/** Builds transports for one test; `cleanup` releases whatever the factory holds. */
export interface TransportFactory {
  /** A transport for `id`, not yet started and with no peers. */
  create(id: NodeId): Transport;
  /** Its address once started. */
  address(id: NodeId, t: Transport): PeerAddress;
  /** Releases whatever the factory holds, after the test. */
  cleanup?(): Promise<void>;
}

export interface TestNode {
  id: NodeId;
  transport: Transport;
  address: PeerAddress;
  received: PeerMessage[];
}

/** Polls `condition` until it holds; real sockets leave nothing else to wait on. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000) {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startNode(factory: TransportFactory, id: NodeId): Promise<TestNode> {
  const transport = factory.create(id);
  await transport.start();
  const node: TestNode = { id, transport, address: factory.address(id, transport), received: [] };
  transport.onMessage((msg) => node.received.push(msg));
  return node;
}

/** Starts `ids`, makes every node a peer of every other and waits until all links are up. */
export async function startCluster(factory: TransportFactory, ids: NodeId[]): Promise<TestNode[]> {
  const nodes: TestNode[] = [];
  for (const id of ids) nodes.push(await startNode(factory, id));
  const addresses = nodes.map((n) => n.address);
  for (const n of nodes) n.transport.setPeers(addresses);
  await waitConnected(nodes);
  return nodes;
}

export async function waitConnected(nodes: TestNode[]): Promise<void> {
  for (const n of nodes) {
    await waitFor(
      () => [...n.transport.peerStatus().values()].every((s) => s.connected),
      `${n.id} connected to its peers`,
    );
  }
}

export async function closeAll(nodes: TestNode[]): Promise<void> {
  for (const n of nodes) await n.transport.close();
}

function heartbeat(from: NodeId, to: NodeId, readSeq: number): Message {
  return { from, to, term: 1, type: "heartbeat", commitIndex: 0, readSeq };
}

type Case = [string, (factory: TransportFactory) => Promise<void>];

const cases: Case[] = [
  ["two nodes exchange every message type, both ways, in order", async (factory) => {
    const [a, b] = await startCluster(factory, ["n1", "n2"]);
    try {
      const toB = sampleMessages("n1", "n2");
      const toA = sampleMessages("n2", "n1");
      for (const m of toB) a.transport.send(m);
      for (const m of toA) b.transport.send(m);
      await waitFor(
        () => a.received.length === toA.length && b.received.length === toB.length,
        "all",
      );
      assert.deepEqual(b.received, toB);
      assert.deepEqual(a.received, toA);
      const stats = b.transport.stats();
      assert.ok(stats.framesSent >= toA.length && stats.framesReceived >= toB.length);
      assert.equal(stats.framesDropped + stats.framesMalformed + stats.authFailures, 0);
      const status = a.transport.peerStatus().get("n2");
      assert.equal(status?.connected, true);
      assert.ok(status.lastContactMs !== null && status.lastContactMs >= 0);
    } finally {
      await closeAll([a, b]);
    }
  }],

  ["three nodes: every node reaches every other", async (factory) => {
    const nodes = await startCluster(factory, ["n1", "n2", "n3"]);
    try {
      for (const from of nodes) {
        for (const to of nodes) if (from !== to) from.transport.send(heartbeat(from.id, to.id, 1));
      }
      await waitFor(() => nodes.every((n) => n.received.length === 2), "two messages each");
      for (const n of nodes) {
        assert.deepEqual(
          n.received.map((m) => m.from).sort(),
          nodes.map((x) => x.id).filter((id) => id !== n.id),
        );
        assert.ok(n.received.every((m) => m.to === n.id));
      }
    } finally {
      await closeAll(nodes);
    }
  }],

  ["setPeers adds a peer and removes one", async (factory) => {
    const [a, b] = await startCluster(factory, ["n1", "n2"]);
    const c = await startNode(factory, "n3");
    try {
      assert.equal(a.transport.peerStatus().has("n3"), false);
      a.transport.setPeers([a.address, b.address, c.address]);
      c.transport.setPeers([a.address, c.address]);
      await waitConnected([c]);
      await waitFor(() => a.transport.peerStatus().get("n3")?.connected === true, "n1 sees n3");
      a.transport.send(heartbeat("n1", "n3", 1));
      c.transport.send(heartbeat("n3", "n1", 2));
      await waitFor(() => c.received.length === 1 && a.received.length === 1, "n1 <-> n3");

      a.transport.setPeers([a.address, c.address]); // n2 leaves
      assert.equal(a.transport.peerStatus().has("n2"), false);
      const dropped = a.transport.stats().framesDropped;
      a.transport.send(heartbeat("n1", "n2", 3));
      assert.equal(a.transport.stats().framesDropped, dropped + 1);
      b.transport.send(heartbeat("n2", "n1", 4)); // n1 no longer accepts n2
      await waitFor(() => b.transport.peerStatus().get("n1")?.connected === false, "n2 cut off");
      a.transport.send(heartbeat("n1", "n3", 5));
      await waitFor(() => c.received.length === 2, "n1 -> n3 still flows");
      assert.equal(b.received.length, 0);
      assert.deepEqual(a.received.map((m) => m.from), ["n3"]);
    } finally {
      await closeAll([a, b, c]);
    }
  }],

  ["sends to unknown, down or self addresses drop without throwing", async (factory) => {
    const a = await startNode(factory, "n1");
    try {
      a.transport.setPeers([a.address, { id: "n2", peer: "ws://127.0.0.1:9" }]);
      a.transport.send(heartbeat("n1", "n2", 1)); // configured, never up
      a.transport.send(heartbeat("n1", "zz", 1)); // not a peer
      a.transport.send(heartbeat("n1", "n1", 1)); // itself
      assert.equal(a.transport.stats().framesDropped, 3);
      assert.equal(a.transport.stats().framesSent, 0);
      const status = a.transport.peerStatus();
      assert.deepEqual([...status.keys()], ["n2"]);
      assert.deepEqual(status.get("n2"), { connected: false, lastContactMs: null });
    } finally {
      await a.transport.close();
    }
  }],

  ["a message that lies about its sender or recipient is dropped and counted", async (factory) => {
    const nodes = await startCluster(factory, ["n1", "n2", "n3"]);
    const [a, b] = nodes;
    try {
      a.transport.send(heartbeat("n3", "n2", 1)); // n1 pretends to be n3
      a.transport.send(heartbeat("n1", "n2", 2));
      await waitFor(() => b.received.length === 1, "the honest message");
      assert.equal(b.received[0].from, "n1");
      assert.equal(b.transport.stats().framesMalformed, 1);
    } finally {
      await closeAll(nodes);
    }
  }],

  ["after close, send drops and nothing is delivered; close is idempotent", async (factory) => {
    const [a, b] = await startCluster(factory, ["n1", "n2"]);
    await a.transport.close();
    await a.transport.close();
    a.transport.send(heartbeat("n1", "n2", 1));
    assert.equal(a.transport.stats().framesDropped, 1);
    await waitFor(() => b.transport.peerStatus().get("n1")?.connected === false, "n2 sees n1 gone");
    b.transport.send(heartbeat("n2", "n1", 1));
    await b.transport.close();
    assert.equal(a.received.length + b.received.length, 0);
  }],
];

/** Registers the contract's tests for one implementation; a fresh factory per test. */
export function transportContract(label: string, makeFactory: () => TransportFactory): void {
  for (const [name, run] of cases) {
    Deno.test(`transport contract [${label}]: ${name}`, async () => {
      const factory = makeFactory();
      try {
        await run(factory);
      } finally {
        await factory.cleanup?.();
      }
    });
  }
}
