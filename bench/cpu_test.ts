// Pure unit tests of the /proc/<pid>/stat parser and the percentage helper.

import assert from "node:assert/strict";
import { parseProcStatTicks, percentOfCore } from "./cpu.ts";

Deno.test("proc stat: utime + stime, counted from the last ')'", () => {
  const line = "26521 (deno) R 26519 26519 23780 0 -1 4194304 3103 0 12 0 17 5 0 0 20 0 5 0";
  assert.equal(parseProcStatTicks(line), 22);
  const odd = "77 (a) b (c)) S 1 77 77 0 -1 4194304 0 0 0 0 300 40 0 0 20 0 1 0";
  assert.equal(parseProcStatTicks(odd), 340);
});

Deno.test("proc stat: garbage is null, not a number", () => {
  assert.equal(parseProcStatTicks(""), null);
  assert.equal(parseProcStatTicks("12 (x) R 1 2"), null);
  assert.equal(parseProcStatTicks("12 (x) R 1 1 1 0 -1 0 0 0 0 0 u s"), null);
});

Deno.test("percentOfCore: rounds, and a zero interval reads 0", () => {
  assert.equal(percentOfCore(500, 1000), 50);
  assert.equal(percentOfCore(1500, 1000), 150);
  assert.equal(percentOfCore(10, 0), 0);
});
