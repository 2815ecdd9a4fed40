// Crash safety of multi-commit writes: each write below is cut short after every possible
// number of commits (the next commit "crashes" before reaching Deno KV), the file is
// reopened, and what loads must be a valid state: the old one, the new one, or for an
// append, the untouched prefix followed by a prefix of either the old or the new suffix.
// A further append after the crash must not bring any debris back.
//
// Commit boundaries fall where the limits put them, so small writes are also cut after
// every single mutation (each mutation then commits alone): every prefix of the ordered
// mutation list must be a valid state, which is stronger than what real commits need.

import assert from "node:assert/strict";
import type { Entry, HardState, Snapshot } from "../raft/types.ts";
import { assertSame, bytes, entry, range, snapshot } from "./contract_test.ts";
import { KvStorage } from "./kv_storage.ts";
import type { StoredState } from "./storage.ts";

const H1: HardState = { term: 1, votedFor: "n1", commitIndex: 1000 };
const H2: HardState = { term: 2, votedFor: "n2", commitIndex: 1400 };

/** Makes every commit after the first `n` throw without writing, while `f` runs. */
async function crashAfterCommits(n: number, f: () => Promise<void>): Promise<boolean> {
  const proto = Deno.AtomicOperation.prototype;
  const commit = proto.commit;
  let left = n;
  proto.commit = function (this: Deno.AtomicOperation) {
    return left-- > 0 ? commit.call(this) : Promise.reject(new Error("simulated crash"));
  };
  try {
    await f();
    return false;
  } catch (err) {
    assert.match(String(err), /simulated crash/);
    return true;
  } finally {
    proto.commit = commit;
  }
}

/** Commits every mutation on its own and crashes after the first `n`, while `f` runs. */
async function crashAfterMutations(n: number, f: () => Promise<void>): Promise<boolean> {
  const proto = Deno.Kv.prototype;
  const atomic = proto.atomic;
  let left = n;
  proto.atomic = function (this: Deno.Kv) {
    const single = () => atomic.call(this);
    const ops: ((a: Deno.AtomicOperation) => void)[] = [];
    const recorder = {
      set(key: Deno.KvKey, value: unknown) {
        ops.push((a) => a.set(key, value));
        return recorder;
      },
      delete(key: Deno.KvKey) {
        ops.push((a) => a.delete(key));
        return recorder;
      },
      async commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
        let last: Deno.KvCommitResult | Deno.KvCommitError = { ok: true, versionstamp: "" };
        for (const op of ops) {
          if (left-- <= 0) throw new Error("simulated crash");
          const a = single();
          op(a);
          last = await a.commit();
        }
        return last;
      },
    };
    return recorder as unknown as Deno.AtomicOperation;
  };
  try {
    await f();
    return false;
  } catch (err) {
    assert.match(String(err), /simulated crash/);
    return true;
  } finally {
    proto.atomic = atomic;
  }
}

type Injector = typeof crashAfterCommits;

interface Scenario {
  setup(s: KvStorage): Promise<void>;
  write(s: KvStorage): Promise<void>;
  /** Throws unless `got` (and the snapshot data) is a state the crash may leave. */
  check(got: StoredState, snap: Snapshot | null): void;
}

async function runScenario(sc: Scenario, inject: Injector = crashAfterCommits): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "raftkv_crash_" });
  try {
    let crashes = 0;
    for (let n = 0;; n++) {
      const path = `${dir}/run${n}/raft.kv`;
      const s = await KvStorage.open(path);
      await sc.setup(s);
      const crashed = await inject(n, () => sc.write(s));
      s.close();
      await checkAfterRestart(path, sc);
      if (!crashed) return crashes;
      crashes++;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function checkAfterRestart(path: string, sc: Scenario): Promise<void> {
  let s = await KvStorage.open(path);
  try {
    const got = await s.load();
    sc.check(got, await s.loadSnapshot());
    const next = entry(s.stats().lastIndex + 1, 9);
    await s.append([next], null);
    s.close();
    s = await KvStorage.open(path);
    assertSame((await s.load()).entries, [...got.entries, next]);
  } finally {
    s.close();
  }
}

function withData(log: Entry[], big: Record<number, number>): Entry[] {
  return log.map((e) => big[e.index] ? { ...e, data: bytes(big[e.index], e.index) } : e);
}

/** Old log 1..oldLast (term 1) replaced from `from` by from..newLast (term 2). */
function appendScenario(old: Entry[], fresh: Entry[]): Scenario {
  const keep = fresh[0].index - 1;
  return {
    setup: (s) => s.append(old, H1),
    write: (s) => s.append(fresh, H2),
    check(got) {
      assertSame(got.entries.slice(0, keep), old.slice(0, keep));
      // Then a prefix of the old suffix (being deleted top-down) or of the new one.
      const tail = got.entries.slice(keep);
      const from = tail.length > 0 && tail[0].term === 2 ? fresh : old.slice(keep);
      assertSame(tail, from.slice(0, tail.length));
      if (got.hardState.term === 2) assertSame(tail, fresh);
      else assertSame(got.hardState, H1);
    },
  };
}

/** Snapshot `before`, then `old` after it; then `next` is saved over them. */
function snapshotScenario(before: Snapshot, old: Entry[], next: Snapshot): Scenario {
  const kept = termOf(old, next.meta.index) === next.meta.term
    ? old.filter((e) => e.index > next.meta.index)
    : [];
  return {
    async setup(s) {
      await s.saveSnapshot(before);
      await s.append(old, H1);
    },
    write: (s) => s.saveSnapshot(next),
    check(got, snap) {
      if (got.snapshot?.index === before.meta.index) {
        assertSame([snap, got.entries], [before, old]);
      } else {
        assertSame([snap, got.entries], [next, kept]);
      }
    },
  };
}

function termOf(log: Entry[], index: number): number | undefined {
  return log.find((e) => e.index === index)?.term;
}

Deno.test("KvStorage crash: append replacing a long conflicting suffix", async () => {
  const old = withData(range(1, 2500, 1), { 2000: 200_000 });
  const fresh = withData(range(1500, 4000, 2), { 1600: 1 << 20, 3000: 300_000 });
  const crashes = await runScenario(appendScenario(old, fresh));
  assert.ok(crashes >= 4, `only ${crashes} crash points`);
});

Deno.test("KvStorage crash: snapshots, cut after each commit", async () => {
  const before = snapshot(100, 1, bytes(150_000, 1));
  const old = withData(range(101, 2000, 1), { 1200: 100_000, 1800: 100_000 });
  for (const term of [1, 2]) { // 1 compacts a matching log; 2 replaces a conflicting one
    const next = snapshot(1500, term, bytes(2 << 20, term));
    const crashes = await runScenario(snapshotScenario(before, old, next));
    assert.ok(crashes >= 3, `only ${crashes} crash points`);
  }
});

Deno.test("KvStorage crash: installing a staged snapshot, cut after each commit and mutation", async () => {
  const staged = (before: Snapshot, old: Entry[], next: Snapshot): Scenario => {
    const base = snapshotScenario(before, old, next);
    const id = { index: next.meta.index, term: next.meta.term };
    return {
      ...base,
      async setup(s) {
        await base.setup(s);
        await s.stageSnapshot(id);
        await s.writeStaged(id, 0, next.data);
      },
      write: (s) => s.installStaged(next.meta, next.data.length).then(() => {}),
    };
  };
  const big = { before: snapshot(100, 1, bytes(150_000, 1)), log: range(101, 2000, 1) };
  const small = { before: snapshot(2, 1, bytes(70_000, 1)), log: range(3, 12, 1) };
  for (const term of [1, 2]) { // 1 compacts a matching log; 2 replaces a conflicting one
    const next = snapshot(1500, term, bytes(2 << 20, term));
    assert.ok(await runScenario(staged(big.before, big.log, next)) >= 2);
    const nextSmall = snapshot(8, term, bytes(140_000, 2));
    await runScenario(staged(small.before, small.log, nextSmall), crashAfterMutations);
  }
});

Deno.test("KvStorage crash: entries sent again are never missing mid-write", async () => {
  // What a follower has acknowledged must survive a crash while the leader re-sends it.
  const held = range(1, 10, 1);
  const more = range(11, 14, 1);
  const crashes = await runScenario({
    setup: (s) => s.append(held, H1),
    write: (s) => s.append([...range(4, 10, 1), ...more], H2),
    check(got) {
      assertSame(got.entries.slice(0, 10), held);
      assertSame(got.entries.slice(10), more.slice(0, got.entries.length - 10));
    },
  }, crashAfterMutations);
  assert.equal(crashes, more.length + 1);
});

Deno.test("KvStorage crash: small writes, cut after each mutation", async () => {
  const old = withData(range(1, 12, 1), { 10: 70_000 });
  const fresh = withData(range(6, 15, 2), { 7: 140_000 });
  const crashes = await runScenario(appendScenario(old, fresh), crashAfterMutations);
  assert.equal(crashes, 7 + 2 + 10 + 3 + 1); // deletes, chunk deletes, headers, chunks, hs
  const before = snapshot(2, 1, bytes(70_000, 1));
  const log = withData(range(3, 12, 1), { 8: 70_000, 10: 70_000 });
  for (const term of [1, 2]) {
    const next = snapshot(8, term, bytes(140_000, 2));
    await runScenario(snapshotScenario(before, log, next), crashAfterMutations);
  }
});
