// The nemesis's plan is the seed's alone, covers every fault type, and the peer network maps a
// link fault onto the right proxy directions.

import assert from "node:assert/strict";
import { Rng } from "../rng.ts";
import { FAULT_WEIGHTS, type FaultType, planFault } from "./nemesis.ts";
import { PeerNetwork } from "./network.ts";
import { classify } from "./workload.ts";
import type { HttpResult } from "../cluster/kv_client.ts";

Deno.test("nemesis: the same seed plans the same faults, and every type comes up", () => {
  const plan = (seed: number) => {
    const rng = new Rng(seed);
    return Array.from({ length: 200 }, () => planFault(rng));
  };
  assert.deepEqual(plan(5), plan(5));
  assert.notDeepEqual(plan(5), plan(6));
  const seen = new Set(plan(5).map((f) => f.type));
  assert.deepEqual([...seen].sort(), (Object.keys(FAULT_WEIGHTS) as FaultType[]).sort());
  for (const f of plan(7)) {
    assert.ok(f.holdMs >= 800 && f.holdMs <= 3000);
    if (f.type === "lossy") assert.ok(f.level > 0 && f.level < 0.5);
  }
});

Deno.test("network: a link fault sets both proxies of the pair, one direction each", async () => {
  const network = new PeerNetwork(["n1", "n2", "n3"], () => 1, Math.random);
  try {
    assert.notEqual(network.peerUrl("n1", "n2"), network.peerUrl("n2", "n1"));
    network.setLink("n1", "n2", { type: "blackhole" });
    assert.deepEqual(network.faults(), [{ from: "n1", to: "n2", mode: { type: "blackhole" } }]);
    network.partition([["n3"], ["n1", "n2"]]);
    const links = network.faults().map((f) => `${f.from}>${f.to}`).sort();
    assert.deepEqual(links, ["n1>n2", "n1>n3", "n2>n3", "n3>n1", "n3>n2"]);
    network.heal();
    assert.deepEqual(network.faults(), []);
  } finally {
    await network.close();
  }
});

function response(status: number, body: string, headers: Record<string, string> = {}): HttpResult {
  return {
    status,
    headers: new Headers(headers),
    body: new TextEncoder().encode(body),
    text: body,
    json: () => JSON.parse(body),
  };
}

Deno.test("workload: what each answer proves", () => {
  assert.deepEqual(
    classify("get", response(200, "v", { etag: '"7"', "x-kv-version": "2", "x-kv-revision": "9" })),
    { type: "value", value: "v", revision: 7, version: 2, storeRevision: 9 },
  );
  assert.deepEqual(classify("get", response(404, "{}")), { type: "absent" });
  assert.deepEqual(classify("delete", response(404, "{}")), { type: "absent" });
  assert.deepEqual(classify("put", response(200, '{"revision":4,"version":1}')), {
    type: "written",
    revision: 4,
    version: 1,
  });
  assert.deepEqual(classify("cas", response(412, '{"detail":"x","currentRevision":null}')), {
    type: "preconditionFailed",
    currentRevision: null,
  });
  assert.equal(classify("put", response(503, '{"detail":"no leader"}')).type, "failed");
  assert.equal(classify("put", response(504, '{"detail":"timeout"}')).type, "unknown");
  assert.equal(classify("put", response(500, "oops")).type, "unknown");
  assert.throws(() => classify("get", response(200, "v")), /etag/);
});
