// Pure unit tests of the .cpuprofile summary (self time by function and by script).

import assert from "node:assert/strict";
import { type CpuProfile, shortUrl, summarize } from "./cpu_profile.ts";

function frame(functionName: string, url: string, lineNumber = 0) {
  return { functionName, url, lineNumber };
}

Deno.test("summarize: a sample lasts until the next one; idle is kept apart", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(idle)", "") },
      { id: 2, callFrame: frame("decode", "file:///w/lib/transport/codec.ts", 9) },
      { id: 3, callFrame: frame("", "file:///w/lib/transport/codec.ts", 19) },
      { id: 4, callFrame: frame("op_kv_atomic_write", "") },
    ],
    // V8: timeDeltas[i] is the gap before sample i, so the last sample has no length.
    samples: [2, 1, 4, 2, 3, 4],
    timeDeltas: [0, 1000, 5000, 2000, 1000, 500],
  };
  const s = summarize(profile);
  assert.equal(s.idleMs, 5);
  assert.equal(s.totalMs, 1 + 2 + 1 + 0.5);
  assert.deepEqual(s.byFunction, [
    { name: "decode lib/transport/codec.ts:10", ms: 2 },
    { name: "op_kv_atomic_write (native):1", ms: 2 },
    { name: "(anonymous) lib/transport/codec.ts:20", ms: 0.5 },
  ]);
  assert.deepEqual(s.byScript, [
    { name: "lib/transport/codec.ts", ms: 2.5 },
    { name: "(native)", ms: 2 },
  ]);
});

Deno.test("shortUrl: project paths, npm packages, natives", () => {
  assert.equal(shortUrl("file:///work/main/lib/kv/store.ts"), "lib/kv/store.ts");
  assert.equal(
    shortUrl("file:///root/.cache/deno/npm/registry.npmjs.org/zod/4.6.7/v4/core/schemas.js"),
    "npm:zod/4.6.7/v4/core/schemas.js",
  );
  assert.equal(shortUrl(""), "(native)");
  assert.equal(shortUrl("ext:core/01_core.js"), "ext:core/01_core.js");
});
