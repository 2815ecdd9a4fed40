import assert from "node:assert/strict";
import { majority, quorumValue, voteOutcome } from "./quorum.ts";
import { mulberry32 } from "./test_util.ts";

/** The largest v such that at least a majority of values are ≥ v (brute force). */
function reference(values: number[]): number {
  const need = Math.floor(values.length / 2) + 1;
  let best = 0;
  for (const v of values) {
    if (values.filter((x) => x >= v).length >= need && v > best) best = v;
  }
  return best;
}

const ids = (n: number) => Array.from({ length: n }, (_, k) => `n${k}`);

Deno.test("quorum: majority of 1..7 voters", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(majority), [1, 2, 2, 3, 3, 4, 4]);
});

Deno.test("quorum: quorumValue with multi-digit indexes matches brute force for 1..7 voters", () => {
  // Indexes ≥ 10 catch a lexicographic sort ("9" > "10").
  const rng = mulberry32(42);
  for (let n = 1; n <= 7; n++) {
    for (let trial = 0; trial < 200; trial++) {
      const values = ids(n).map(() => 5 + Math.floor(rng() * 120));
      const got = quorumValue(ids(n), (id) => values[Number(id.slice(1))]);
      assert.equal(got, reference(values), `n=${n} values=${values}`);
    }
  }
});

Deno.test("quorum: quorumValue hand-picked cases, even and odd sizes", () => {
  const at = (values: number[]) =>
    quorumValue(ids(values.length), (id) => values[Number(id.slice(1))]);
  assert.equal(at([17]), 17);
  assert.equal(at([9, 10]), 9, "two voters need both");
  assert.equal(at([9, 10, 100]), 10);
  assert.equal(at([9, 10, 11, 100]), 10, "four voters need three");
  assert.equal(at([9, 100, 10, 11, 12]), 11);
  assert.equal(at([10, 20, 30, 40, 50, 60]), 30, "six voters need four");
  assert.equal(at([70, 10, 60, 20, 50, 30, 40]), 40);
});

Deno.test("quorum: voters without a value count as 0", () => {
  const known = new Map([["n0", 12], ["n1", 11]]);
  const valueOf = (id: string) => known.get(id) ?? 0;
  assert.equal(quorumValue(ids(3), valueOf), 11, "two of three have ≥ 11");
  assert.equal(quorumValue(ids(4), valueOf), 0, "two of four is not a majority");
  assert.equal(quorumValue(ids(5), valueOf), 0);
  assert.equal(quorumValue([], valueOf), 0);
});

Deno.test("quorum: voteOutcome won / lost / pending for odd sizes", () => {
  const v = (entries: [string, boolean][]) => new Map(entries);
  const three = ids(3);
  assert.equal(voteOutcome(three, v([["n0", true]])), "pending");
  assert.equal(voteOutcome(three, v([["n0", true], ["n1", true]])), "won");
  assert.equal(voteOutcome(three, v([["n0", true], ["n1", false]])), "pending");
  assert.equal(voteOutcome(three, v([["n0", true], ["n1", false], ["n2", false]])), "lost");
  assert.equal(voteOutcome(three, v([["n1", false], ["n2", false]])), "lost");
  assert.equal(voteOutcome(ids(1), v([["n0", true]])), "won");
  const five = ids(5);
  assert.equal(voteOutcome(five, v([["n0", true], ["n1", true]])), "pending");
  assert.equal(voteOutcome(five, v([["n0", true], ["n1", true], ["n4", true]])), "won");
  assert.equal(voteOutcome(five, v([["n1", false], ["n2", false]])), "pending");
  assert.equal(voteOutcome(five, v([["n1", false], ["n2", false], ["n3", false]])), "lost");
});

Deno.test("quorum: voteOutcome won / lost / pending for even sizes", () => {
  const v = (entries: [string, boolean][]) => new Map(entries);
  const two = ids(2);
  assert.equal(voteOutcome(two, v([["n0", true]])), "pending");
  assert.equal(voteOutcome(two, v([["n0", true], ["n1", true]])), "won");
  assert.equal(voteOutcome(two, v([["n0", true], ["n1", false]])), "lost", "2 of 2 needed");
  const four = ids(4);
  assert.equal(voteOutcome(four, v([["n0", true], ["n1", true]])), "pending", "a tie is not a win");
  assert.equal(voteOutcome(four, v([["n0", true], ["n1", true], ["n2", true]])), "won");
  assert.equal(voteOutcome(four, v([["n0", true], ["n1", false]])), "pending");
  assert.equal(voteOutcome(four, v([["n0", true], ["n1", false], ["n2", false]])), "lost");
  const six = ids(6);
  assert.equal(voteOutcome(six, v([["n0", false], ["n1", false]])), "pending");
  assert.equal(voteOutcome(six, v([["n0", false], ["n1", false], ["n2", false]])), "lost");
});

Deno.test("quorum: votes from non-voters are ignored", () => {
  const votes = new Map([["n0", true], ["x", true], ["y", true]]);
  assert.equal(voteOutcome(ids(3), votes), "pending");
});
