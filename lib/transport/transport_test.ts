import assert from "node:assert/strict";
import { backoffMs } from "./peer_link.ts";
import { RateLimitedLog } from "./transport.ts";

Deno.test("rate-limited log: one line per key per interval, then a count of the suppressed", () => {
  let nowMs = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((l) => lines.push(l), 1000, () => nowMs);
  for (let i = 0; i < 100; i++) log.log("malformed:n2", `bad frame ${i}`);
  log.log("malformed:n3", "other peer");
  assert.deepEqual(lines, ["bad frame 0", "other peer"]);
  nowMs = 999;
  log.log("malformed:n2", "still quiet");
  nowMs = 1000;
  log.log("malformed:n2", "again");
  assert.deepEqual(lines.slice(2), ["again (100 similar suppressed)"]);
});

Deno.test("backoff: doubles from the minimum to the maximum with ±50% jitter", () => {
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 100].map((a) => backoffMs(a, 50, 2000, mid)), [
    50,
    100,
    200,
    400,
    800,
    1600,
    2000,
    2000,
  ]);
  assert.equal(backoffMs(0, 50, 2000, () => 0), 25);
  assert.equal(backoffMs(9, 50, 2000, () => 0.999), 2000 * 1.499);
});
