// Micro-benchmarks of two costs on the write path, measured from outside lib/ (not a test):
//   1. KvStorage.append latency (Deno KV atomic commits, one WAL fsync each) for one Ready's
//      worth of put entries, and for a hard-state-only Ready (a commitIndex bump), alone and
//      with 3 stores appending at once on the same disk (a 3-node cluster on one box);
//   2. the peer codec per append frame: MessagePack encode, and decode split into the
//      MessagePack part and the zod validation on top.
//
//   deno run -A bench/micro.ts [--seconds 2] [--batches 1,8,64]

import { Decoder } from "@msgpack/msgpack";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { encodeCommand } from "../lib/kv/mod.ts";
import type { Entry, HardState, Message } from "../lib/raft/types.ts";
import { KvStorage } from "../lib/storage/mod.ts";
import { decodeFrame, encodeFrame, raftFrame } from "../lib/transport/mod.ts";
import { selfCpuMs } from "./cpu.ts";
import { Histogram } from "./histogram.ts";
import { makeValue } from "./load.ts";

/** One put entry as the leader proposes it for the bench's workload (100-byte value). */
function putEntry(index: number, term: number, valueBytes: number): Entry {
  const data = encodeCommand({
    type: "put",
    key: `bench-${index % 10_000}`,
    value: makeValue(valueBytes),
    time: Date.now(),
    reqId: `n1.deadbeef.${index}`,
  });
  return { term, index, type: "normal", data };
}

interface Latency {
  label: string;
  opsPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  entriesPerSec?: number;
  /** This process's CPU (all threads: JS, and SQLite's) per append, in µs. */
  cpuUsPerAppend: number;
}

function summary(
  label: string,
  h: Histogram,
  seconds: number,
  entries: number,
  cpuMs: number,
  appends: number,
): Latency {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    label,
    opsPerSec: Math.round(h.count / seconds),
    p50Ms: r(h.quantileMs(0.5)),
    p90Ms: r(h.quantileMs(0.9)),
    p99Ms: r(h.quantileMs(0.99)),
    ...(entries > 0 ? { entriesPerSec: Math.round(entries / seconds) } : {}),
    cpuUsPerAppend: Math.round((cpuMs * 1000) / appends),
  };
}

/** Appends `batch` entries (0: a commitIndex-only hard state) per call, back to back. */
async function appendLoop(store: KvStorage, batch: number, seconds: number, h: Histogram) {
  let index = store.stats().lastIndex;
  let commitIndex = 0;
  const endMs = performance.now() + seconds * 1000;
  while (performance.now() < endMs) {
    const entries = Array.from({ length: batch }, () => putEntry(++index, 1, 100));
    const hs: HardState = { term: 1, votedFor: "n1", commitIndex: ++commitIndex };
    const startMs = performance.now();
    await store.append(entries, hs);
    h.recordMs(performance.now() - startMs);
  }
}

async function storageBench(batches: number[], seconds: number): Promise<Latency[]> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_micro_" });
  const out: Latency[] = [];
  try {
    const stores = await Promise.all(
      [1, 2, 3].map((i) => KvStorage.open(join(dir, `n${i}`, "raft.kv"))),
    );
    for (const store of stores) await store.load();
    for (const batch of [0, ...batches]) {
      for (const parallel of [1, 3]) {
        const hs = stores.slice(0, parallel).map(() => new Histogram());
        const cpuMs = selfCpuMs();
        await Promise.all(hs.map((h, i) => appendLoop(stores[i], batch, seconds, h)));
        const appends = hs.reduce((sum, h) => sum + h.count, 0);
        const label = `append ${batch === 0 ? "hardState only" : `${batch} entries`}, ` +
          `${parallel} store(s) at once`;
        out.push(
          summary(label, hs[0], seconds, batch * hs[0].count, selfCpuMs() - cpuMs, appends),
        );
      }
    }
    for (const store of stores) store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return out;
}

interface CodecCost {
  entries: number;
  frameBytes: number;
  encodeUs: number;
  msgpackDecodeUs: number;
  fullDecodeUs: number;
  zodUs: number;
}

function timeUs(seconds: number, fn: () => void): number {
  let n = 0;
  const startMs = performance.now();
  const endMs = startMs + seconds * 1000;
  while (performance.now() < endMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
  }
  return Math.round(((performance.now() - startMs) * 1000 / n) * 100) / 100;
}

function codecBench(batches: number[], seconds: number): CodecCost[] {
  const decoder = new Decoder();
  return batches.map((count) => {
    const msg: Message = {
      type: "append",
      from: "n1",
      to: "n2",
      term: 1,
      prevLogIndex: 1000,
      prevLogTerm: 1,
      entries: Array.from({ length: count }, (_, i) => putEntry(1001 + i, 1, 100)),
      commitIndex: 1000,
    };
    const encoded = encodeFrame(raftFrame(msg));
    if (encoded.type !== "ok") throw new Error(encoded.reason);
    const bytes = encoded.bytes;
    const check = decodeFrame(bytes);
    if (check.type !== "ok") throw new Error(check.reason);
    const encodeUs = timeUs(seconds / 3, () => encodeFrame(raftFrame(msg)));
    const msgpackDecodeUs = timeUs(seconds / 3, () => decoder.decode(bytes));
    const fullDecodeUs = timeUs(seconds / 3, () => decodeFrame(bytes));
    return {
      entries: count,
      frameBytes: bytes.byteLength,
      encodeUs,
      msgpackDecodeUs,
      fullDecodeUs,
      zodUs: Math.round((fullDecodeUs - msgpackDecodeUs) * 100) / 100,
    };
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "2" },
      batches: { type: "string", default: "1,8,64" },
    },
  });
  const seconds = Number(values.seconds);
  const batches = values.batches.split(",").map(Number);
  for (const line of codecBench(batches, seconds)) console.log(JSON.stringify(line));
  for (const line of await storageBench(batches, seconds)) console.log(JSON.stringify(line));
}
