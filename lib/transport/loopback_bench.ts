// Loopback measurement between two WsTransports (not a test):
//   deno run -A lib/transport/loopback_bench.ts [--seconds 3]
// Round trip: n1 sends an append of 64 entries × 100 B, n2 answers with an appendResp, one at a
// time. Throughput: n1 streams appends with a window of in-flight messages; n2 acks each.

import { parseArgs } from "node:util";
import type { Message } from "../raft/types.ts";
import { createCodec, raftFrame } from "./codec.ts";
import { sampleEntries } from "./sample_messages.ts";
import { WsTransport } from "./ws_transport.ts";

const { values } = parseArgs({ args: Deno.args, options: { seconds: { type: "string" } } });
const seconds = Number(values.seconds ?? "3");

function append(seq: number): Message {
  return {
    from: "n1",
    to: "n2",
    term: 1,
    type: "append",
    prevLogIndex: seq,
    prevLogTerm: 1,
    entries: sampleEntries(64, 100, seq + 1),
    commitIndex: seq,
  };
}

function ack(seq: number): Message {
  return {
    from: "n2",
    to: "n1",
    term: 1,
    type: "appendResp",
    success: true,
    matchIndex: seq,
    rejectIndex: 0,
    hintIndex: 0,
    hintTerm: 0,
  };
}

const options = { listen: { hostname: "127.0.0.1", port: 0 }, peers: [], secret: "bench" };
const a = new WsTransport({ ...options, id: "n1" });
const b = new WsTransport({ ...options, id: "n2" });
await a.start();
await b.start();
const peers = [
  { id: "n1", peer: `ws://127.0.0.1:${a.port}` },
  { id: "n2", peer: `ws://127.0.0.1:${b.port}` },
];
a.setPeers(peers);
b.setPeers(peers);
while (!a.peerStatus().get("n2")?.connected || !b.peerStatus().get("n1")?.connected) {
  await new Promise((r) => setTimeout(r, 5));
}
b.onMessage((m) => {
  if (m.type === "append") b.send(ack(m.prevLogIndex));
});

const frame = createCodec().encodeFrame(raftFrame(append(0)));
const frameBytes = frame.type === "ok" ? frame.bytes.byteLength : 0;

// Round trips, one at a time.
const rtts: number[] = [];
{
  let resolve = () => {};
  a.onMessage(() => resolve());
  const end = performance.now() + seconds * 1000;
  for (let seq = 0; performance.now() < end; seq++) {
    const t0 = performance.now();
    const done = new Promise<void>((r) => resolve = r);
    a.send(append(seq));
    await done;
    rtts.push(performance.now() - t0);
  }
}
rtts.sort((x, y) => x - y);
const pct = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))];

// Throughput with a window of 64 unacknowledged appends (like maxInflightAppends).
let acked = 0;
const window = 64;
const messages = [...Array(window * 2)].map((_, i) => append(i));
const t0 = performance.now();
const end = t0 + seconds * 1000;
let sent = 0;
await new Promise<void>((finish) => {
  a.onMessage(() => {
    acked++;
    if (performance.now() < end) a.send(messages[sent++ % messages.length]);
    else if (acked === sent) finish();
  });
  for (; sent < window; sent++) a.send(messages[sent]);
});
const elapsedS = (performance.now() - t0) / 1000;

console.log(JSON.stringify({
  frameBytes,
  roundTrip: {
    count: rtts.length,
    meanMs: +(rtts.reduce((s, x) => s + x, 0) / rtts.length).toFixed(3),
    p50Ms: +pct(0.5).toFixed(3),
    p99Ms: +pct(0.99).toFixed(3),
  },
  throughput: {
    window,
    appendsPerS: Math.round(acked / elapsedS),
    entriesPerS: Math.round(acked * 64 / elapsedS),
    mbPerS: +((acked * frameBytes) / elapsedS / 1e6).toFixed(1),
  },
  statsN1: a.stats(),
  statsN2: b.stats(),
}));
await a.close();
await b.close();
