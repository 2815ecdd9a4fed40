// Test fixtures: one message of every PeerMessage type (both tags of the shared vote shapes).
// Shared by the codec tests, the transport contract and the loopback benchmark.

import type { Entry, NodeId } from "../raft/types.ts";
import type { PeerMessage } from "./transport.ts";

export function bytesOf(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

export function sampleEntries(count: number, dataBytes: number, firstIndex = 1): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    entries.push({ term: 3, index: firstIndex + i, type: "normal", data: bytesOf(dataBytes, i) });
  }
  return entries;
}

/** Every message type, addressed from `from` to `to`. */
export function sampleMessages(from: NodeId, to: NodeId): PeerMessage[] {
  const base = { from, to, term: 7 };
  return [
    { ...base, type: "vote", lastLogIndex: 10, lastLogTerm: 6, transfer: false },
    { ...base, type: "preVote", lastLogIndex: 0, lastLogTerm: 0, transfer: true },
    { ...base, type: "voteResp", granted: true },
    { ...base, type: "preVoteResp", granted: false },
    {
      ...base,
      type: "append",
      prevLogIndex: 41,
      prevLogTerm: 6,
      entries: [
        ...sampleEntries(3, 100, 42),
        { term: 7, index: 45, type: "noop", data: new Uint8Array(0) },
        { term: 7, index: 46, type: "config", data: bytesOf(12) },
      ],
      commitIndex: 40,
    },
    {
      ...base,
      type: "appendResp",
      success: false,
      matchIndex: 0,
      rejectIndex: 41,
      hintIndex: 30,
      hintTerm: 5,
    },
    { ...base, type: "heartbeat", commitIndex: 40, readSeq: 9 },
    { ...base, type: "heartbeatResp", readSeq: 9 },
    {
      ...base,
      type: "snapshot",
      snapshot: {
        meta: {
          index: 100,
          term: 6,
          config: { voters: [from, to], learners: ["n9"], contexts: memberContexts(20) },
        },
        data: bytesOf(1000),
      },
    },
    { ...base, type: "timeoutNow" },
    { ...base, type: "readIndex", ctx: 123 },
    { ...base, type: "readIndexResp", ctx: 123, index: 0 },
    {
      ...base,
      type: "propose",
      entries: [{ type: "normal", data: bytesOf(5) }, { type: "config", data: bytesOf(0) }],
    },
    {
      ...base,
      type: "snapChunk",
      meta: { index: 100, term: 6, config: { voters: [from, to], learners: [] } },
      total: 300_000,
      offset: 262_144,
      data: bytesOf(37_856),
    },
    { ...base, type: "snapAck", index: 100, snapTerm: 6, offset: 262_144 },
  ];
}

/** Member addresses as the replica stores them in a configuration (~80 bytes each). */
function memberContexts(n: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; i <= n; i++) {
    out[`n${i}`] = JSON.stringify({
      client: `http://127.0.0.1:${7000 + i}`,
      peer: `ws://127.0.0.1:${7100 + i}`,
      text: `127.0.0.1:${9000 + i}`,
    });
  }
  return out;
}
