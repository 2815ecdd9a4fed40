import assert from "node:assert/strict";
import type { Message } from "../raft/types.ts";
import { decodeFrame, encodeFrame, type Frame, type OutFrame, raftFrame } from "./codec.ts";
import { dialerMac, importSecret, newNonce } from "./handshake.ts";
import { bytesOf } from "./sample_messages.ts";
import {
  closeAll,
  startNode,
  type TestNode,
  waitConnected,
  waitFor,
} from "./transport_contract.ts";
import type { PeerMessage } from "./transport.ts";
import { WsTransport, type WsTransportOptions } from "./ws_transport.ts";

const secret = "test-secret";

function makeFactory(logs: string[], extra: Partial<WsTransportOptions> = {}) {
  return {
    create: (id: string) =>
      new WsTransport({
        id,
        listen: { hostname: "127.0.0.1", port: 0 },
        peers: [],
        secret,
        log: (line) => logs.push(line),
        ...extra,
      }),
    address: (id: string, t: unknown) => ({ id, peer: url(t as WsTransport) }),
  };
}

function url(t: WsTransport): string {
  return `ws://127.0.0.1:${t.port}`;
}

function link(nodes: TestNode[]): void {
  for (const n of nodes) n.transport.setPeers(nodes.map((x) => x.address));
}

function heartbeat(from: string, to: string, readSeq: number): Message {
  return { from, to, term: 1, type: "heartbeat", commitIndex: 0, readSeq };
}

function bytes(frame: OutFrame): Uint8Array {
  const encoded = encodeFrame(frame);
  assert.equal(encoded.type, "ok");
  return (encoded as { bytes: Uint8Array }).bytes;
}

/** A raw WebSocket client, with its frames decoded and its closing observed. */
async function rawClient(target: string) {
  const socket = new WebSocket(target);
  socket.binaryType = "arraybuffer";
  const frames: Frame[] = [];
  let closeCode: number | null = null;
  const closed = new Promise<void>((resolve) => {
    socket.onclose = (e) => {
      closeCode = e.code;
      resolve();
    };
  });
  socket.onmessage = (e) => {
    const d = decodeFrame(e.data as ArrayBuffer);
    if (d.type === "ok") frames.push(d.frame);
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  return { socket, frames, closed, closeCode: () => closeCode };
}

/** A raw client that authenticates as `id` (a real dialer's handshake, done by hand). */
async function authenticatedClient(target: string, id: string, acceptor: string) {
  const client = await rawClient(target);
  await waitFor(() => client.frames.length === 1, "challenge");
  const challenge = client.frames[0];
  assert.equal(challenge.kind, "challenge");
  const key = await importSecret(secret);
  const mac = await dialerMac(key, (challenge as { nonce: Uint8Array }).nonce, id, acceptor);
  client.socket.send(bytes({ kind: "auth", id, nonce: newNonce(), mac }));
  await waitFor(() => client.frames.length === 2, "welcome");
  assert.equal(client.frames[1].kind, "welcome");
  return client;
}

Deno.test("ws: the dialer reconnects after the acceptor restarts on the same port", async () => {
  const logs: string[] = [];
  const factory = makeFactory(logs);
  const a = await startNode(factory, "n1"); // n1 < n2: n1 dials
  let b = await startNode(factory, "n2");
  const port = (b.transport as WsTransport).port;
  link([a, b]);
  try {
    await waitConnected([a, b]);
    a.transport.send(heartbeat("n1", "n2", 1));
    await waitFor(() => b.received.length === 1, "first message");
    await b.transport.close();
    await waitFor(() => a.transport.peerStatus().get("n2")?.connected === false, "n1 notices");

    const restarted = new WsTransport({
      id: "n2",
      listen: { hostname: "127.0.0.1", port },
      peers: [a.address, b.address],
      secret,
      log: (line) => logs.push(line),
    });
    await restarted.start();
    b = { ...b, transport: restarted, received: [] };
    const received = b.received;
    restarted.onMessage((m) => received.push(m));
    await waitConnected([a, b]);
    a.transport.send(heartbeat("n1", "n2", 2));
    restarted.send(heartbeat("n2", "n1", 3));
    await waitFor(() => received.length === 1 && a.received.length === 1, "traffic again");
    assert.equal(received[0].type === "heartbeat" && received[0].readSeq, 2);
    assert.ok(logs.some((l) => l.includes("peer n2 disconnected")), logs.join("\n"));
  } finally {
    await closeAll([a, b]);
  }
});

Deno.test("ws: a peer with the wrong secret is refused and logged", async () => {
  const logs: string[] = [];
  const a = await startNode(makeFactory(logs, { secret: "wrong" }), "n1");
  const b = await startNode(makeFactory(logs), "n2");
  link([a, b]);
  try {
    await waitFor(
      () => a.transport.stats().authFailures >= 1 && b.transport.stats().authFailures >= 1,
      "auth failures on both sides",
    );
    a.transport.send(heartbeat("n1", "n2", 1));
    b.transport.send(heartbeat("n2", "n1", 1));
    assert.equal(a.transport.peerStatus().get("n2")?.connected, false);
    assert.equal(b.transport.peerStatus().get("n1")?.connected, false);
    assert.equal(a.transport.stats().framesDropped, 1);
    assert.ok(
      logs.some((l) => /peer auth failed: 127\.0\.0\.1:\d+: bad MAC from n1/.test(l)),
      logs.join("\n"),
    );
    assert.ok(
      logs.some((l) => l.includes("peer auth failed: n2: refused by the peer")),
      logs.join("\n"),
    );
    assert.equal(a.received.length + b.received.length, 0);
  } finally {
    await closeAll([a, b]);
  }
});

Deno.test("ws: the dialer refuses an acceptor that cannot prove the secret", async () => {
  const logs: string[] = [];
  // An impostor listening at n2's address: challenges, then answers with a made-up MAC.
  const impostor = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.send(bytes({ kind: "challenge", nonce: newNonce() }));
    socket.onmessage = () => {
      socket.send(bytes({ kind: "welcome", mac: newNonce() }));
      socket.send(bytes(raftFrame(heartbeat("n2", "n1", 9))));
    };
    return response;
  });
  const a = await startNode(makeFactory(logs, { reconnectMinMs: 1000 }), "n1");
  try {
    a.transport.setPeers([a.address, { id: "n2", peer: `ws://127.0.0.1:${impostor.addr.port}` }]);
    await waitFor(() => a.transport.stats().authFailures >= 1, "welcome rejected");
    assert.ok(logs.some((l) => l.includes("bad MAC in welcome from n2")), logs.join("\n"));
    assert.equal(a.received.length, 0, "nothing from an unauthenticated acceptor");
    assert.equal(a.transport.peerStatus().get("n2")?.connected, false);
  } finally {
    await a.transport.close();
    await impostor.shutdown();
  }
});

Deno.test("ws: garbage and text from unauthenticated clients close them; the node carries on", async () => {
  const logs: string[] = [];
  const factory = makeFactory(logs);
  const nodes = [await startNode(factory, "n1"), await startNode(factory, "n2")];
  const [a, b] = nodes;
  link(nodes);
  try {
    await waitConnected(nodes);
    const garbage = await rawClient(url(b.transport as WsTransport));
    garbage.socket.send(new Uint8Array([0xc1, 0xff, 0x00, 0x13, 0x37]));
    await garbage.closed;
    const text = await rawClient(url(b.transport as WsTransport));
    text.socket.send("hello, is this raft?");
    await text.closed;
    const impersonator = await rawClient(url(b.transport as WsTransport));
    impersonator.socket.send(bytes(raftFrame(heartbeat("n1", "n2", 666)))); // no handshake
    await impersonator.closed;
    assert.equal(garbage.closeCode(), 4001);
    assert.equal(b.transport.stats().authFailures, 3);
    assert.equal(b.transport.stats().framesMalformed, 2);
    assert.ok(logs.some((l) => l.includes("garbage before authentication")), logs.join("\n"));

    a.transport.send(heartbeat("n1", "n2", 1));
    await waitFor(() => b.received.length === 1, "valid traffic after the garbage");
    assert.equal(b.received[0].type === "heartbeat" && b.received[0].readSeq, 1);
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("ws: bad frames from an authenticated peer are dropped, counted and logged sparingly", async () => {
  const logs: string[] = [];
  const b = await startNode(makeFactory(logs), "n2");
  b.transport.setPeers([b.address, { id: "n1", peer: "ws://127.0.0.1:9" }]);
  const client = await authenticatedClient(url(b.transport as WsTransport), "n1", "n2");
  try {
    await waitFor(() => b.transport.peerStatus().get("n1")?.connected === true, "n1 attached");
    for (let i = 0; i < 200; i++) client.socket.send(new Uint8Array([0x92, i & 0xff]));
    for (let i = 0; i < 50; i++) client.socket.send("text frame");
    client.socket.send(bytes({ kind: "challenge", nonce: newNonce() })); // handshake frame, late
    client.socket.send(bytes(raftFrame(heartbeat("n1", "n3", 1)))); // not for n2
    client.socket.send(new Uint8Array(5 * 1024 * 1024)); // over frameBytesMax
    client.socket.send(bytes(raftFrame(heartbeat("n1", "n2", 7))));
    await waitFor(() => b.received.length === 1, "the valid frame");
    assert.equal(b.transport.stats().framesMalformed, 253);
    assert.equal(b.transport.stats().framesReceived, 1);
    assert.equal(client.closeCode(), null, "an authenticated peer is not cut off for bad frames");
    const lines = logs.filter((l) => l.includes("dropped frame"));
    assert.ok(lines.length >= 1 && lines.length <= 2, lines.join("\n"));
  } finally {
    client.socket.close();
    await client.closed;
    await b.transport.close();
  }
});

Deno.test("ws: a silent client is dropped at the handshake timeout; plain HTTP is refused", async () => {
  const logs: string[] = [];
  const b = await startNode(makeFactory(logs, { handshakeTimeoutMs: 50 }), "n2");
  try {
    const silent = await rawClient(url(b.transport as WsTransport));
    await silent.closed;
    assert.equal(b.transport.stats().authFailures, 1);
    assert.ok(
      logs.some((l) => l.includes("handshake not completed within 50 ms")),
      logs.join("\n"),
    );
    const res = await fetch(`http://127.0.0.1:${(b.transport as WsTransport).port}/`);
    await res.body?.cancel();
    assert.equal(res.status, 426);
  } finally {
    await b.transport.close();
  }
});

Deno.test("ws: snapshot chunks and acks arrive intact, in order with other messages", async () => {
  const logs: string[] = [];
  const factory = makeFactory(logs);
  const nodes = [await startNode(factory, "n1"), await startNode(factory, "n2")];
  const [a, b] = nodes;
  link(nodes);
  try {
    await waitConnected(nodes);
    const meta = { index: 5000, term: 2, config: { voters: ["n1", "n2"], learners: [] } };
    const total = 20 * 256 * 1024;
    const sent: PeerMessage[] = [];
    for (let offset = 0; offset < total; offset += 256 * 1024) {
      const data = bytesOf(256 * 1024, offset / 1024);
      sent.push({ type: "snapChunk", from: "n1", to: "n2", term: 2, meta, total, offset, data });
    }
    sent.push(heartbeat("n1", "n2", 1));
    for (const m of sent) a.transport.send(m);
    await waitFor(() => b.received.length === sent.length, "20 chunks and a heartbeat");
    assert.deepEqual(b.received, sent);
    const ack: PeerMessage = {
      type: "snapAck",
      from: "n2",
      to: "n1",
      term: 2,
      index: 5000,
      snapTerm: 2,
      offset: total,
    };
    b.transport.send(ack);
    await waitFor(() => a.received.length === 1, "the ack");
    assert.deepEqual(a.received[0], ack);
    assert.equal(b.transport.stats().framesMalformed, 0);
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("ws: a full send queue drops rather than grows", async () => {
  const logs: string[] = [];
  const factory = makeFactory(logs, { sendQueueMax: 4, bufferedBytesMax: 1 });
  const nodes = [await startNode(factory, "n1"), await startNode(factory, "n2")];
  const [a, b] = nodes;
  link(nodes);
  try {
    await waitConnected(nodes);
    for (let i = 0; i < 50; i++) a.transport.send(heartbeat("n1", "n2", i));
    // One frame went to the socket at once; four wait; the other 45 were dropped on the spot.
    const stats = a.transport.stats();
    assert.equal(stats.framesSent, 1);
    assert.equal(stats.framesDropped, 45);
    await waitFor(() => b.received.length === 5, "the five that fit");
    assert.deepEqual(
      b.received.map((m) => m.type === "heartbeat" ? m.readSeq : -1),
      [0, 1, 2, 3, 4],
    );
    assert.ok(logs.some((l) => l.includes("send queue full")), logs.join("\n"));
  } finally {
    await closeAll(nodes);
  }
});

Deno.test("ws: a peer that moves to a new address is dialed there", async () => {
  const logs: string[] = [];
  const factory = makeFactory(logs);
  const a = await startNode(factory, "n1");
  const b = await startNode(factory, "n2");
  link([a, b]);
  const moved = await startNode(factory, "n2");
  try {
    await waitConnected([a, b]);
    await b.transport.close();
    moved.transport.setPeers([a.address, moved.address]);
    a.transport.setPeers([a.address, moved.address]);
    await waitConnected([a, moved]);
    a.transport.send(heartbeat("n1", "n2", 5));
    await waitFor(() => moved.received.length === 1, "delivery at the new address");
  } finally {
    await closeAll([a, b, moved]);
  }
});

Deno.test("ws: inbound handshakes beyond handshakesMax are refused", async () => {
  const logs: string[] = [];
  const b = await startNode(makeFactory(logs, { handshakesMax: 1 }), "n2");
  try {
    const first = await rawClient(url(b.transport as WsTransport)); // never authenticates
    await assert.rejects(rawClient(url(b.transport as WsTransport)));
    assert.ok(logs.some((l) => l.includes("too many pending handshakes")), logs.join("\n"));
    first.socket.close();
    await first.closed;
  } finally {
    await b.transport.close();
  }
});
