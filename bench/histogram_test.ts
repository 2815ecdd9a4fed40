// Pure unit tests of the benchmark's latency histogram (no cluster, no network).

import assert from "node:assert/strict";
import {
  bucketHighUs,
  bucketLowUs,
  bucketOf,
  Histogram,
  HISTOGRAM_VALUE_MAX_US,
  median,
} from "./histogram.ts";

Deno.test("histogram buckets: contiguous, each value inside its bucket, under 1.6% wide", () => {
  let previousHigh = 0;
  for (let bucket = 0; bucket <= bucketOf(HISTOGRAM_VALUE_MAX_US); bucket++) {
    const low = bucketLowUs(bucket);
    const high = bucketHighUs(bucket);
    assert.equal(low, previousHigh, `bucket ${bucket} starts where ${bucket - 1} ends`);
    assert.ok(high > low);
    if (low >= 128) assert.ok((high - low) / low <= 1 / 64, `bucket ${bucket} too wide`);
    assert.equal(bucketOf(low), bucket);
    assert.equal(bucketOf(high - 1), bucket);
    previousHigh = high;
  }
});

Deno.test("histogram: exact below 128 µs; quantiles by nearest rank", () => {
  const h = new Histogram();
  for (let us = 1; us <= 100; us++) h.recordMs(us / 1000);
  assert.equal(h.count, 100);
  assert.equal(h.quantileMs(0.5), 0.05);
  assert.equal(h.quantileMs(0.9), 0.09);
  assert.equal(h.quantileMs(0.99), 0.099);
  assert.equal(h.quantileMs(1), 0.1);
  assert.equal(h.maxMs(), 0.1);
});

Deno.test("histogram: quantiles of a wide spread within 1% of the true values", () => {
  const h = new Histogram();
  const values: number[] = [];
  for (let i = 1; i <= 10_000; i++) {
    const ms = 0.2 + (i * i) / 100_000; // 0.2 ms .. 1000.2 ms, skewed like latencies
    values.push(ms);
    h.recordMs(ms);
  }
  for (const q of [0.5, 0.9, 0.99]) {
    const truth = values[Math.ceil(q * values.length) - 1];
    const got = h.quantileMs(q);
    assert.ok(Math.abs(got - truth) / truth < 0.01, `q=${q}: ${got} vs ${truth}`);
  }
  assert.equal(h.maxMs(), 1000.2);
});

Deno.test("histogram: the maximum is exact and caps every quantile", () => {
  const h = new Histogram();
  h.recordMs(5.001);
  assert.equal(h.maxMs(), 5.001);
  assert.equal(h.quantileMs(0.5), 5.001);
});

Deno.test("histogram: empty reads 0; negative and NaN count as 0; huge values clamp", () => {
  const h = new Histogram();
  assert.equal(h.quantileMs(0.5), 0);
  assert.equal(h.maxMs(), 0);
  h.recordMs(-3);
  h.recordMs(NaN);
  assert.equal(h.quantileMs(1), 0);
  h.recordMs(1e12);
  assert.equal(h.maxMs(), HISTOGRAM_VALUE_MAX_US / 1000);
  assert.throws(() => h.quantileMs(0), RangeError);
  assert.throws(() => h.quantileMs(1.5), RangeError);
});

Deno.test("histogram: merge adds counts and keeps the larger maximum; reset empties", () => {
  const a = new Histogram();
  const b = new Histogram();
  for (let i = 0; i < 90; i++) a.recordMs(1);
  for (let i = 0; i < 10; i++) b.recordMs(50);
  a.merge(b);
  assert.equal(a.count, 100);
  assert.equal(a.maxMs(), 50);
  assert.ok(Math.abs(a.quantileMs(0.9) - 1) < 0.02);
  assert.ok(Math.abs(a.quantileMs(0.91) - 50) < 0.5);
  a.reset();
  assert.equal(a.count, 0);
  assert.equal(a.maxMs(), 0);
});

Deno.test("median: odd, even, unsorted input left alone, empty", () => {
  assert.equal(median([3, 1, 2]), 2);
  const input = [10, 2, 4, 100];
  assert.equal(median(input), 7);
  assert.deepEqual(input, [10, 2, 4, 100]);
  assert.ok(Number.isNaN(median([])));
});
