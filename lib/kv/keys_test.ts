import assert from "node:assert/strict";
import { compareKeys, keyProblem, utf8Length } from "./keys.ts";
import { SortedSet } from "./sorted_set.ts";
import { seededRandom } from "./test_helpers.ts";
import { compareBytes } from "./txn.ts";

const utf8 = new TextEncoder();
// Characters from every UTF-8 length, including both sides of the UTF-16 surrogate gap.
const alphabet = ["a", "b", "z", "/", "\u007f", "é", "\u07ff", "中", "\ud7ff", "\ue000", "\uffff"]
  .concat(["😀", "\u{10000}", "\u{10ffff}"]);

function randomKey(random: () => number): string {
  const length = 1 + Math.floor(random() * 5);
  let key = "";
  for (let i = 0; i < length; i++) key += alphabet[Math.floor(random() * alphabet.length)];
  return key;
}

Deno.test("keys: compareKeys orders exactly as UTF-8 bytes do", () => {
  const random = seededRandom(7);
  for (let i = 0; i < 5000; i++) {
    const a = randomKey(random);
    const b = randomKey(random);
    const expected = Math.sign(compareBytes(utf8.encode(a), utf8.encode(b)));
    assert.equal(Math.sign(compareKeys(a, b)), expected, `${a} vs ${b}`);
  }
  // The case JS `<` gets wrong: U+FFFF sorts before U+10000 in UTF-8.
  assert.ok("\u{10000}" < "\uffff");
  assert.ok(compareKeys("\uffff", "\u{10000}") < 0);
});

Deno.test("keys: utf8Length matches TextEncoder", () => {
  const random = seededRandom(8);
  for (let i = 0; i < 1000; i++) {
    const key = randomKey(random);
    assert.equal(utf8Length(key), utf8.encode(key).byteLength, key);
  }
});

Deno.test("keys: keyProblem enforces 1..max UTF-8 bytes and well-formedness", () => {
  assert.equal(keyProblem("a", 1024), null);
  assert.match(keyProblem("", 1024) ?? "", /empty/);
  assert.equal(keyProblem("é".repeat(512), 1024), null);
  assert.match(keyProblem("é".repeat(513), 1024) ?? "", /1026 bytes exceeds 1024/);
  assert.match(keyProblem("a\ud800", 1024) ?? "", /surrogate/);
});

Deno.test("sorted set: random inserts and deletes agree with a sorted array", () => {
  const random = seededRandom(9);
  const set = new SortedSet<number>((a, b) => a - b);
  const reference = new Set<number>();
  for (let i = 0; i < 20_000; i++) {
    const n = Math.floor(random() * 3000);
    if (random() < 0.6) {
      assert.equal(set.insert(n), !reference.has(n));
      reference.add(n);
    } else {
      assert.equal(set.delete(n), reference.has(n));
      reference.delete(n);
    }
    assert.equal(set.has(n), reference.has(n));
  }
  const expected = [...reference].sort((a, b) => a - b);
  assert.deepEqual(set.toArray(), expected);
  assert.equal(set.size, expected.length);
  assert.equal(set.first(), expected[0]);
  const pivot = expected[Math.floor(expected.length / 2)];
  assert.deepEqual([...set.from(pivot)], expected.filter((n) => n >= pivot));
  assert.deepEqual([...set.from(pivot, true)], expected.filter((n) => n > pivot));
  assert.deepEqual([...set.from(pivot + 0.5)], expected.filter((n) => n > pivot));
  assert.deepEqual([...set.from(1e9)], []);
});

Deno.test("sorted set: fromSorted rejects unsorted or duplicate input", () => {
  const compare = (a: number, b: number) => a - b;
  assert.deepEqual(SortedSet.fromSorted([1, 2, 3], compare).toArray(), [1, 2, 3]);
  assert.throws(() => SortedSet.fromSorted([1, 3, 2], compare), RangeError);
  assert.throws(() => SortedSet.fromSorted([1, 1], compare), RangeError);
  const big = Array.from({ length: 2000 }, (_, i) => i);
  const set = SortedSet.fromSorted(big, compare);
  assert.ok(set.insert(2000.5));
  assert.ok(set.delete(0));
  assert.deepEqual(set.toArray(), [...big.slice(1), 2000.5]);
});
