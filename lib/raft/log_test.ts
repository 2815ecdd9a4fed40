import assert from "node:assert/strict";
import { RaftLog } from "./log.ts";
import { InvariantError } from "./assert.ts";
import type { ConfigState, SnapshotMeta } from "./types.ts";
import { bytes, confEnt, ent, entriesWithTerms } from "./test_util.ts";

const ABC: ConfigState = { voters: ["a", "b", "c"], learners: [] };
const EMPTY_SNAP: SnapshotMeta = { index: 0, term: 0, config: ABC };

function logOf(terms: number[], commitIndex = 0): RaftLog {
  return new RaftLog(EMPTY_SNAP, entriesWithTerms(terms), commitIndex);
}

function terms(log: RaftLog): number[] {
  const out: number[] = [];
  for (let i = log.firstIndex(); i <= log.lastIndex(); i++) out.push(log.term(i)!);
  return out;
}

Deno.test("log: an empty log starts after index 0, term 0", () => {
  const log = logOf([]);
  assert.equal(log.firstIndex(), 1);
  assert.equal(log.lastIndex(), 0);
  assert.equal(log.lastTerm(), 0);
  assert.equal(log.term(0), 0);
  assert.equal(log.term(1), undefined);
  assert.deepEqual(log.unstableEntries(), []);
});

Deno.test("log: restored entries are stable, appended ones are not", () => {
  const log = logOf([1, 1, 2], 2);
  assert.equal(log.commitIndex, 2);
  assert.equal(log.lastApplied, 0);
  assert.equal(log.stableIndex(), 3);
  log.append([ent(4, 2), ent(5, 3)]);
  assert.deepEqual(log.unstableEntries().map((e) => e.index), [4, 5]);
  assert.throws(() => log.append([ent(7, 3)]), InvariantError, "a gap is refused");
  assert.throws(() => log.append([ent(6, 2)]), InvariantError, "a lower term is refused");
});

Deno.test("log: a commitIndex beyond the restored log is refused", () => {
  assert.throws(() => logOf([1, 1], 3), InvariantError);
});

Deno.test("log: maybeAppend skips entries it already has (a duplicate append is a no-op)", () => {
  const log = logOf([1, 1, 2, 2]);
  const last = log.maybeAppend(1, [ent(2, 1), ent(3, 2)]);
  assert.equal(last, 3);
  assert.deepEqual(terms(log), [1, 1, 2, 2], "the longer tail is kept: nothing conflicted");
  assert.deepEqual(log.unstableEntries(), [], "nothing rewritten, nothing to persist");
});

Deno.test("log: maybeAppend truncates at the first conflict and appends the rest", () => {
  const log = logOf([1, 1, 2, 2, 2]);
  const last = log.maybeAppend(2, [ent(3, 2), ent(4, 3), ent(5, 3), ent(6, 3)]);
  assert.equal(last, 6);
  assert.deepEqual(terms(log), [1, 1, 2, 3, 3, 3]);
  assert.deepEqual(log.unstableEntries().map((e) => e.index), [4, 5, 6]);
});

Deno.test("log: maybeAppend with a conflict drops the whole old tail beyond the new entries", () => {
  const log = logOf([1, 2, 2, 2, 2, 2]);
  const last = log.maybeAppend(1, [ent(2, 3)]);
  assert.equal(last, 2);
  assert.equal(log.lastIndex(), 2);
  assert.deepEqual(terms(log), [1, 3]);
});

Deno.test("log: maybeAppend never truncates committed entries: it throws", () => {
  const log = logOf([1, 1, 2], 2);
  assert.throws(() => log.maybeAppend(1, [ent(2, 3)]), InvariantError);
  // A conflict above commitIndex is fine.
  const ok = logOf([1, 1, 2], 2);
  ok.maybeAppend(2, [ent(3, 3)]);
  assert.deepEqual(terms(ok), [1, 1, 3]);
});

Deno.test("log: maybeAppend refuses non-contiguous entries", () => {
  const log = logOf([1]);
  assert.throws(() => log.maybeAppend(1, [ent(2, 1), ent(4, 1)]), InvariantError);
});

Deno.test("log: term() across the snapshot boundary", () => {
  const snap: SnapshotMeta = { index: 10, term: 3, config: ABC };
  const log = new RaftLog(snap, [ent(11, 3), ent(12, 4)], 10);
  assert.equal(log.firstIndex(), 11);
  assert.equal(log.term(9), undefined, "compacted");
  assert.equal(log.term(10), 3, "the snapshot's own index keeps its term");
  assert.equal(log.term(11), 3);
  assert.equal(log.term(12), 4);
  assert.equal(log.term(13), undefined, "beyond the end");
  assert.equal(log.commitIndex, 10);
  assert.equal(log.lastApplied, 10);
  assert.throws(() => log.entry(10), InvariantError);
  assert.throws(() => log.slice(10, 12), InvariantError);
});

Deno.test("log: maybeAppend skips entries already covered by the snapshot", () => {
  const snap: SnapshotMeta = { index: 5, term: 2, config: ABC };
  const log = new RaftLog(snap, [], 5);
  log.maybeAppend(3, [ent(4, 2), ent(5, 2), ent(6, 2)]);
  assert.equal(log.lastIndex(), 6);
  assert.equal(log.term(6), 2);
});

Deno.test("log: slice caps by count and by bytes, and always returns at least one entry", () => {
  const log = new RaftLog(
    EMPTY_SNAP,
    [1, 2, 3, 4, 5].map((i) => ent(i, 1, "normal", "x".repeat(10))),
    0,
  );
  assert.deepEqual(log.slice(1, 5).map((e) => e.index), [1, 2, 3, 4, 5]);
  assert.deepEqual(log.slice(2, 99).map((e) => e.index), [2, 3, 4, 5], "capped at lastIndex");
  assert.deepEqual(log.slice(1, 5, 2).map((e) => e.index), [1, 2]);
  assert.deepEqual(log.slice(1, 5, Infinity, 30).map((e) => e.index), [1, 2, 3]);
  assert.deepEqual(log.slice(1, 5, Infinity, 29).map((e) => e.index), [1, 2]);
  assert.deepEqual(log.slice(1, 5, Infinity, 1).map((e) => e.index), [1], "one oversized entry");
  assert.deepEqual(log.slice(3, 5, 2, 15).map((e) => e.index), [3]);
  assert.deepEqual(log.slice(6, 9), []);
});

Deno.test("log: isUpToDate compares last term, then length (§3.6.1)", () => {
  const log = logOf([1, 1, 2]);
  assert.equal(log.isUpToDate(3, 2), true, "identical");
  assert.equal(log.isUpToDate(4, 2), true, "same term, longer");
  assert.equal(log.isUpToDate(2, 2), false, "same term, shorter");
  assert.equal(log.isUpToDate(1, 3), true, "higher last term wins even if shorter");
  assert.equal(log.isUpToDate(9, 1), false, "lower last term loses even if longer");
  assert.equal(logOf([]).isUpToDate(0, 0), true);
});

Deno.test("log: findConflictByTerm returns the last index at or below a term", () => {
  const log = logOf([1, 1, 2, 2, 4, 4, 4]);
  assert.equal(log.findConflictByTerm(7, 4), 7);
  assert.equal(log.findConflictByTerm(7, 3), 4, "skips the whole term-4 run");
  assert.equal(log.findConflictByTerm(7, 2), 4);
  assert.equal(log.findConflictByTerm(7, 1), 2);
  assert.equal(log.findConflictByTerm(7, 0), 0);
  assert.equal(log.findConflictByTerm(99, 5), 7, "clamped at lastIndex");
  assert.equal(log.findConflictByTerm(3, 9), 3);
  const snapped = new RaftLog({ index: 4, term: 2, config: ABC }, entriesWithTerms([4, 4], 5), 4);
  assert.equal(snapped.findConflictByTerm(6, 3), 4, "stops at the snapshot");
  assert.equal(snapped.findConflictByTerm(6, 1), 4);
});

Deno.test("log: commitTo and appliedTo only move forward and stay within bounds", () => {
  const log = logOf([1, 1, 1]);
  assert.equal(log.commitTo(2), true);
  assert.equal(log.commitTo(1), false);
  assert.equal(log.commitIndex, 2);
  assert.throws(() => log.commitTo(4), InvariantError);
  log.appliedTo(2);
  log.appliedTo(1);
  assert.equal(log.lastApplied, 2);
  assert.throws(() => log.appliedTo(3), InvariantError);
});

Deno.test("log: compact drops applied entries and records the snapshot's term and config", () => {
  const log = new RaftLog(
    EMPTY_SNAP,
    [ent(1, 1), confEnt(2, 1, { type: "addLearner", id: "d", context: "" }), ent(3, 2), ent(4, 2)],
    4,
  );
  log.appliedTo(3);
  assert.throws(() => log.compact(4), InvariantError, "unapplied");
  const meta = log.compact(3);
  assert.deepEqual(meta, {
    index: 3,
    term: 2,
    config: { voters: ["a", "b", "c"], learners: ["d"], contexts: { d: "" } },
  });
  assert.equal(log.firstIndex(), 4);
  assert.equal(log.term(3), 2);
  assert.equal(log.term(2), undefined);
  assert.deepEqual(log.config(), meta.config, "config survives compaction via the snapshot");
  assert.equal(log.compact(2), log.snapshot, "compacting below the snapshot is a no-op");
});

Deno.test("log: compact moves unstableFrom past the snapshot", () => {
  const log = logOf([1], 0);
  log.append([ent(2, 1), ent(3, 1)]);
  log.commitTo(3);
  log.appliedTo(3);
  log.compact(2);
  assert.deepEqual(log.unstableEntries().map((e) => e.index), [3]);
});

Deno.test("log: restore replaces the log with a snapshot", () => {
  const log = logOf([1, 1, 2, 2], 2);
  const meta: SnapshotMeta = { index: 9, term: 5, config: { voters: ["a", "b"], learners: [] } };
  log.restore(meta);
  assert.equal(log.lastIndex(), 9);
  assert.equal(log.lastTerm(), 5);
  assert.equal(log.commitIndex, 9);
  assert.equal(log.lastApplied, 0, "the shell applies the snapshot; advance() moves lastApplied");
  assert.deepEqual(log.config(), meta.config);
  assert.deepEqual(log.unstableEntries(), []);
  assert.throws(() => log.restore({ ...meta, index: 8 }), InvariantError);
});

Deno.test("log: configAt follows config entries, and truncation reverts them", () => {
  const log = new RaftLog(EMPTY_SNAP, [ent(1, 1)], 1);
  log.append([
    confEnt(2, 1, { type: "addLearner", id: "d", context: "x" }),
    ent(3, 1),
    confEnt(4, 1, { type: "promote", id: "d" }),
  ]);
  assert.deepEqual(log.configAt(1), ABC);
  const withD = { d: "x" };
  assert.deepEqual(log.configAt(2), { voters: ["a", "b", "c"], learners: ["d"], contexts: withD });
  assert.deepEqual(log.configAt(3), { voters: ["a", "b", "c"], learners: ["d"], contexts: withD });
  assert.deepEqual(log.config(), { voters: ["a", "b", "c", "d"], learners: [], contexts: withD });
  assert.equal(log.lastConfigIndex(), 4);
  // A new leader overwrites index 4 onwards: the promotion disappears with it.
  log.maybeAppend(3, [ent(4, 2)]);
  assert.deepEqual(log.config(), { voters: ["a", "b", "c"], learners: ["d"], contexts: withD });
  assert.equal(log.lastConfigIndex(), 2);
  log.maybeAppend(1, [ent(2, 3)]);
  assert.deepEqual(log.config(), ABC);
  assert.equal(log.lastConfigIndex(), 0);
});

Deno.test("log: a malformed or inapplicable config entry leaves the config unchanged", () => {
  const log = new RaftLog(EMPTY_SNAP, [], 0);
  log.append([
    { index: 1, term: 1, type: "config", data: bytes("not json") },
    confEnt(2, 1, { type: "promote", id: "zz" }),
  ]);
  assert.deepEqual(log.config(), ABC);
});

Deno.test("log: stableTo marks entries persisted", () => {
  const log = logOf([]);
  log.append(entriesWithTerms([1, 1, 1]));
  log.stableTo(2, 1);
  assert.deepEqual(log.unstableEntries().map((e) => e.index), [3]);
  assert.equal(log.stableIndex(), 2);
  log.stableTo(1, 1);
  assert.equal(log.stableIndex(), 2, "never moves backwards");
  log.stableTo(3, 9);
  assert.equal(log.stableIndex(), 2, "a wrong term is ignored");
});

Deno.test("log: stableTo ignores an index the log rewrote while it was being persisted", () => {
  const log = logOf([1]);
  log.append([ent(2, 1), ent(3, 1)]);
  const persisted = log.unstableEntries(); // handed to the shell: [2, 3] at term 1
  log.maybeAppend(1, [ent(2, 2)]); // meanwhile a new leader rewrites index 2
  log.stableTo(persisted.at(-1)!.index, persisted.at(-1)!.term);
  assert.deepEqual(
    log.unstableEntries().map((e) => [e.index, e.term]),
    [[2, 2]],
    "the rewritten entry must still be persisted",
  );
});
