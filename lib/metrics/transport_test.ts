import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import {
  type PeerAddress,
  type PeerMessage,
  type PeerStatus,
  type Transport,
  type TransportStats,
} from "../transport/mod.ts";
import { Registry } from "./registry.ts";
import { ObservedTransport, type TransportMetrics } from "./transport.ts";

/** Records what it is asked to do; `deliver` plays a message arriving from a peer. */
class FakeTransport implements Transport {
  sent: Message[] = [];
  peers: PeerAddress[] = [];
  private handler: (msg: Message) => void = () => {};
  start = () => Promise.resolve();
  close = () => Promise.resolve();
  send(msg: Message): void {
    this.sent.push(msg);
  }
  onMessage(handler: (msg: Message) => void): void {
    this.handler = handler;
  }
  setPeers(peers: PeerAddress[]): void {
    this.peers = peers;
  }
  peerStatus(): Map<string, PeerStatus> {
    return new Map([["b", { connected: true, lastContactMs: 3 }]]);
  }
  stats(): TransportStats {
    return {
      framesSent: 1,
      framesReceived: 2,
      framesDropped: 3,
      framesMalformed: 4,
      authFailures: 5,
    };
  }
  deliver(msg: Message): void {
    this.handler(msg);
  }
}

function metrics(): TransportMetrics {
  const r = new Registry();
  return {
    sent: r.counter({ name: "sent_total", help: "S.", labelNames: ["type"] }),
    received: r.counter({ name: "received_total", help: "R.", labelNames: ["type"] }),
    rtt: r.histogram({ name: "rtt_seconds", help: "T.", labelNames: ["peer"], buckets: [0.01] }),
  };
}

const heartbeat = (to: string): Message => ({
  type: "heartbeat",
  from: "a",
  to,
  term: 2,
  commitIndex: 5,
  readSeq: 0,
});
const heartbeatResp = (from: string): Message => ({
  type: "heartbeatResp",
  from,
  to: "a",
  term: 2,
  readSeq: 0,
});

Deno.test("a heartbeat and its response give one round-trip sample for that peer", () => {
  const inner = new FakeTransport();
  const m = metrics();
  let clockMs = 1000;
  const t = new ObservedTransport(inner, m, () => clockMs);
  const got: PeerMessage[] = [];
  t.onMessage((msg) => got.push(msg));
  t.send(heartbeat("b"));
  t.send(heartbeat("c"));
  clockMs += 4;
  inner.deliver(heartbeatResp("b"));
  assert.deepEqual(m.rtt.snapshot({ peer: "b" }), { count: 1, sum: 0.004, counts: [1, 0] });
  assert.equal(m.rtt.snapshot({ peer: "c" }).count, 0);
  assert.equal(t.lastRtt().get("b"), 4);
  // A duplicate response has no heartbeat left to match: no second sample.
  inner.deliver(heartbeatResp("b"));
  assert.equal(m.rtt.snapshot({ peer: "b" }).count, 1);
  assert.equal(got.length, 2, "every message still reaches the replica");
  assert.equal(inner.sent.length, 2, "every message still reaches the transport");
  assert.equal(m.sent.get({ type: "heartbeat" }), 2);
  assert.equal(m.received.get({ type: "heartbeatResp" }), 2);
});

Deno.test("a lost heartbeat is replaced by the next one, never measured from", () => {
  const inner = new FakeTransport();
  const m = metrics();
  let clockMs = 0;
  const t = new ObservedTransport(inner, m, () => clockMs);
  t.onMessage(() => {});
  t.send(heartbeat("b")); // lost
  clockMs = 50;
  t.send(heartbeat("b"));
  clockMs = 51;
  inner.deliver(heartbeatResp("b"));
  assert.equal(t.lastRtt().get("b"), 1);
});

Deno.test("removed peers are forgotten; stats and peer status pass through", () => {
  const inner = new FakeTransport();
  let clockMs = 0;
  const t = new ObservedTransport(inner, metrics(), () => clockMs);
  t.onMessage(() => {});
  t.send(heartbeat("b"));
  clockMs = 2;
  inner.deliver(heartbeatResp("b"));
  t.setPeers([{ id: "c", peer: "ws://c" }]);
  assert.equal(t.lastRtt().size, 0);
  assert.deepEqual(inner.peers, [{ id: "c", peer: "ws://c" }]);
  assert.equal(t.stats().framesDropped, 3);
  assert.equal(t.peerStatus().get("b")?.lastContactMs, 3);
});
