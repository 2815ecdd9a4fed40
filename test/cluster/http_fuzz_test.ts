// A short seeded burst of the HTTP fuzz (lib/api/http_fuzz.ts) against a real node process:
// the whole stack (Deno's HTTP server, Hono, the replica, Deno KV). No answer outside the
// contract, no crash, no "internal error" in its log, its memory bounded, and afterwards it
// still takes writes and serves reads. A failure names the seed and request.

import assert from "node:assert/strict";
import { Rng } from "../rng.ts";
import { fuzzRequest, fuzzRound, type FuzzTarget } from "../../lib/api/http_fuzz.ts";
import { rawFuzzInput, rawRound } from "../../lib/api/raw_http_fuzz.ts";
import { withCluster } from "./harness.ts";

const SEED = 4100;
const REQUESTS = 300;
const RAW_INPUTS = 40;
const CONCURRENCY = 8;
const MAX_VALUE_BYTES = 4096;
/** Resident memory the node may gain over the burst (it starts near 100 MB). */
const RSS_GROWTH_MAX_MB = 150;

Deno.test("HTTP fuzz burst against a real node: documented answers, bounded memory, still serving", async () => {
  await withCluster(
    { nodes: 1, tuning: { maxValueBytes: MAX_VALUE_BYTES, requestTimeoutMs: 1000 } },
    async (cluster) => {
      await cluster.waitForLeader(15_000);
      const pid = cluster.pid("n1")!;
      const base = cluster.spec("n1").client;
      const target: FuzzTarget = {
        keys: ["k0", "k1", "dir/a", "é"],
        members: ["n1"],
        maxValueBytes: MAX_VALUE_BYTES,
      };
      const rssBefore = await rssMb(pid);
      const rng = new Rng(SEED);
      const http = Deno.createHttpClient({});
      const failures: string[] = [];
      try {
        const requests = Array.from({ length: REQUESTS }, (_, i) => ({
          req: fuzzRequest(rng, target),
          baseUrl: base,
          where: `seed ${SEED} request ${i}`,
        }));
        failures.push(...await fuzzRound(requests, http, CONCURRENCY));
        const raw = rng.fork();
        const inputs = Array.from({ length: RAW_INPUTS }, () => rawFuzzInput(raw, target));
        failures.push(...await rawRound(inputs, [new URL(base)], 1, `seed ${SEED}`));
      } finally {
        http.close();
      }
      assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failures`);
      const rssAfter = await rssMb(pid);
      console.log(`fuzz burst: node RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB`);
      assert.ok(rssAfter - rssBefore < RSS_GROWTH_MAX_MB, `RSS ${rssBefore} -> ${rssAfter} MB`);
      const internal = cluster.output("n1").filter((line) => /internal error/.test(line));
      assert.deepEqual(internal, [], "the node logged internal errors");

      const client = cluster.client("n1");
      const put = await client.put("after-fuzz", "still here");
      assert.equal(put.status, 200, put.text);
      const got = await client.get("after-fuzz");
      assert.equal(got.text, "still here");
      assert.equal(cluster.pid("n1"), pid, "the node never restarted");
    },
  );
});

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  assert.ok(Number.isFinite(kb), "VmRSS in /proc/<pid>/status");
  return kb / 1024;
}
