// The state machine must be deterministic: no clock, no randomness, no I/O, no timers, no
// awaits, and imports only from this folder, the Raft core's public face and the two codecs.
// This scans the folder's non-test sources for anything that could break that.

import assert from "node:assert/strict";

const forbidden: [RegExp, string][] = [
  [/\bDeno\./, "Deno.*"],
  [/\bDate\b/, "Date"],
  [/\bMath\.random\b/, "Math.random"],
  [/\bperformance\b/, "performance"],
  [/\b(setTimeout|setInterval|queueMicrotask|requestAnimationFrame)\b/, "timers"],
  [/\b(async|await|Promise)\b/, "asynchrony"],
  [/\bcrypto\b/, "crypto"],
  [/\bfetch\(/, "fetch"],
];
const allowedImports = [
  /^\.\/[a-z_]+\.ts$/,
  /^\.\.\/raft\/mod\.ts$/,
  /^zod$/,
  /^@msgpack\/msgpack$/,
];

function isSource(name: string): boolean {
  return name.endsWith(".ts") && !/(_test|_bench)\.ts$/.test(name) && name !== "test_helpers.ts";
}

Deno.test("purity: lib/kv sources use no clock, randomness, I/O or timers", async () => {
  const dir = new URL(".", import.meta.url);
  let scanned = 0;
  for await (const file of Deno.readDir(dir)) {
    if (!file.isFile || !isSource(file.name)) continue;
    scanned++;
    const text = await Deno.readTextFile(new URL(file.name, dir));
    // Comments may mention what the code must not do.
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const [pattern, what] of forbidden) {
      assert.ok(!pattern.test(code), `${file.name} uses ${what}`);
    }
    for (const [, specifier] of code.matchAll(/\bfrom\s+"([^"]+)"/g)) {
      assert.ok(
        allowedImports.some((allowed) => allowed.test(specifier)),
        `${file.name} imports ${specifier}`,
      );
    }
  }
  assert.ok(scanned >= 10, `scanned only ${scanned} files`);
});
