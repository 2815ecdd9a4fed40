import assert from "node:assert/strict";
import type { KvEvent } from "./events.ts";
import { Driver, enc, seededRandom } from "./test_helpers.ts";
import {
  parseWatchId,
  type WatchCursor,
  WatchHub,
  type WatchItem,
  type WatchSubscription,
} from "./watch_hub.ts";

/** A driver whose every applied entry feeds a hub. */
function fed(options: ConstructorParameters<typeof WatchHub>[1] = {}) {
  const d = new Driver();
  const hub = new WatchHub(d.machine.revision, options);
  const run = {
    put: (key: string, value: string) => hub.publish(d.put(key, value)),
    del: (key: string) => hub.publish(d.del(key)),
    txnPuts: (...keys: string[]) =>
      hub.publish(d.txn([], keys.map((key) => ({ type: "put", key, value: enc(`t:${key}`) })))),
  };
  return { d, hub, ...run };
}

function subscribe(hub: WatchHub, prefix: string, cursor: WatchCursor): WatchSubscription {
  const r = hub.subscribe(prefix, cursor);
  assert.equal(r.type, "ok", JSON.stringify(r));
  if (r.type !== "ok") throw new Error("unreachable");
  return r.subscription;
}

const brief = (items: WatchItem[]) =>
  items.map((it) => `${it.id} ${it.event.type} ${it.event.key}`);

Deno.test("watch hub: history from a revision, then live events, in order", () => {
  const { hub, put, del } = fed();
  put("a", "1"); // revision 1
  put("b", "2"); // 2
  del("a"); // 3
  const s = subscribe(hub, "", hub.cursorFromRevision(2));
  assert.deepEqual(brief(s.take(100)), ["2 put b", "3 delete a"]);
  assert.deepEqual(s.take(100), []);
  let woken = 0;
  s.onReady(() => woken++);
  put("c", "3");
  assert.equal(woken, 1);
  const items = s.take(100);
  assert.deepEqual(brief(items), ["4 put c"]);
  const event = items[0].event as Extract<KvEvent, { type: "put" }>;
  assert.equal(new TextDecoder().decode(event.value), "3");
  assert.equal(event.version, 1);
  // A live-only subscription starts after the current revision.
  const live = subscribe(hub, "", hub.cursorNow());
  assert.deepEqual(live.take(100), []);
  put("d", "4");
  assert.deepEqual(brief(live.take(100)), ["5 put d"]);
});

Deno.test("watch hub: a txn's events share a revision; ids R.k then R resume exactly", () => {
  const { hub, put, txnPuts } = fed();
  put("x", "0"); // 1
  txnPuts("a", "b", "c"); // 2: three events
  put("y", "0"); // 3
  const s = subscribe(hub, "", hub.cursorFromRevision(1));
  assert.deepEqual(brief(s.take(100)), ["1 put x", "2.0 put a", "2.1 put b", "2 put c", "3 put y"]);
  // Resuming after each id gives exactly the rest.
  const all = ["1", "2.0", "2.1", "2", "3"];
  for (let i = 0; i < all.length; i++) {
    const cursor = parseWatchId(all[i]);
    assert.ok(cursor);
    const rest = subscribe(hub, "", cursor).take(100).map((it) => it.id);
    assert.deepEqual(rest, all.slice(i + 1), `after ${all[i]}`);
  }
});

Deno.test("watch hub: a prefix filter gives the last matching event of a revision the id R", () => {
  const { hub, txnPuts } = fed();
  txnPuts("app/a", "other", "app/b", "zzz"); // revision 1
  const s = subscribe(hub, "app/", hub.cursorFromRevision(1));
  assert.deepEqual(brief(s.take(100)), ["1.0 put app/a", "1 put app/b"]);
  // Resume after 1.0 with the same prefix: only app/b.
  assert.deepEqual(brief(subscribe(hub, "app/", { revision: 1, index: 0 }).take(9)), [
    "1 put app/b",
  ]);
  assert.deepEqual(subscribe(hub, "nothing/", hub.cursorFromRevision(1)).take(9), []);
});

Deno.test("watch hub: take(itemsMax) may split a revision and carries on exactly", () => {
  const { hub, txnPuts } = fed();
  txnPuts("a", "b", "c", "d"); // 1
  txnPuts("e"); // 2
  const s = subscribe(hub, "", hub.cursorFromRevision(0));
  assert.deepEqual(s.take(3).map((it) => it.id), ["1.0", "1.1", "1.2"]);
  assert.deepEqual(s.cursor, { revision: 1, index: 2 });
  assert.deepEqual(s.take(1).map((it) => it.id), ["1"]);
  assert.deepEqual(s.take(5).map((it) => it.id), ["2"]);
});

Deno.test("watch hub: the window is bounded; older starts are refused with the oldest revision", () => {
  const { hub, put } = fed({ historyEventsMax: 5 });
  for (let i = 1; i <= 8; i++) put(`k${i}`, "v"); // revisions 1..8
  assert.equal(hub.retained.events, 5);
  assert.equal(hub.oldestRevision, 4);
  assert.deepEqual(hub.subscribe("", hub.cursorFromRevision(3)), {
    type: "tooOld",
    oldestRevision: 4,
  });
  assert.deepEqual(hub.subscribe("", { revision: 3, index: 0 }), {
    type: "tooOld",
    oldestRevision: 4,
  });
  // From exactly the oldest retained revision: everything retained.
  const s = subscribe(hub, "", hub.cursorFromRevision(4));
  assert.deepEqual(s.take(100).map((it) => it.id), ["4", "5", "6", "7", "8"]);
  // "3" means revision 3 was seen in full: nothing is missing, so it is accepted.
  assert.equal(hub.subscribe("", { revision: 3, index: null }).type, "ok");
});

Deno.test("watch hub: the byte bound drops whole revisions but keeps the newest", () => {
  const { hub, d } = fed({ historyBytesMax: 10_000 });
  hub.publish(d.put("small", "v"));
  hub.publish(d.put("big", "x".repeat(50_000)));
  assert.equal(hub.retained.events, 1);
  assert.equal(hub.oldestRevision, 2);
  assert.ok(hub.retained.bytes > 10_000);
});

Deno.test("watch hub: a subscriber the window passes is ended (lost, behind); others live on", () => {
  const { hub, put } = fed({ historyEventsMax: 3 });
  put("a", "1"); // 1
  const slow = subscribe(hub, "", hub.cursorFromRevision(1));
  const fast = subscribe(hub, "", hub.cursorFromRevision(1));
  let slowWoken = 0;
  slow.onReady(() => slowWoken++);
  assert.equal(slowWoken, 1, "already pending: called at once");
  slow.onReady(() => slowWoken++);
  assert.equal(slowWoken, 2);
  for (let i = 2; i <= 3; i++) {
    put(`k${i}`, "v");
    fast.take(100);
  }
  put("k4", "v"); // evicts revision 1, which the slow one has not read
  assert.deepEqual(slow.ended, { type: "lost", reason: "behind", oldestRevision: 2 });
  assert.deepEqual(slow.take(100), []);
  assert.equal(fast.ended, null);
  assert.deepEqual(fast.take(100).map((it) => it.id), ["4"]);
  assert.equal(hub.subscriberCount, 1);
});

Deno.test("watch hub: a snapshot install ends subscribers that missed events, not others", () => {
  const { hub, put } = fed();
  put("a", "1"); // 1
  const behind = subscribe(hub, "", hub.cursorNow());
  const future = subscribe(hub, "", hub.cursorFromRevision(100));
  let woken = false;
  behind.onReady(() => woken = true);
  hub.restored(1); // the same revision: nothing skipped
  assert.equal(behind.ended, null);
  hub.restored(50);
  assert.equal(woken, true);
  assert.deepEqual(behind.ended, { type: "lost", reason: "restored", oldestRevision: 51 });
  assert.equal(future.ended, null);
  assert.equal(hub.revision, 50);
  assert.equal(hub.retained.events, 0);
  assert.equal(hub.subscribe("", hub.cursorFromRevision(50)).type, "tooOld");
  assert.equal(hub.subscribe("", hub.cursorFromRevision(51)).type, "ok");
});

Deno.test("watch hub: changedSince decides whether a pinned listing page is still exact", () => {
  const { hub, put } = fed({ historyEventsMax: 4 });
  put("app/a", "1"); // 1
  put("app/m", "1"); // 2
  put("other", "1"); // 3
  assert.deepEqual(hub.changedSince(2, "app/", null), { type: "unchanged" });
  put("app/b", "2"); // 4
  assert.deepEqual(hub.changedSince(2, "app/", null), {
    type: "changed",
    key: "app/b",
    revision: 4,
  });
  // Keys at or before `after` were on earlier pages.
  assert.deepEqual(hub.changedSince(2, "app/", "app/b"), { type: "unchanged" });
  assert.deepEqual(hub.changedSince(2, "app/", "app/a").type, "changed");
  put("z", "1"); // 5: evicts revision 1
  assert.deepEqual(hub.changedSince(0, "app/", null), { type: "tooOld", oldestRevision: 2 });
  assert.deepEqual(hub.changedSince(1, "zz", null), { type: "unchanged" });
});

Deno.test("watch hub: subscriber limit, close and a closed hub", () => {
  const { hub, put } = fed({ subscribersMax: 2 });
  const a = subscribe(hub, "", hub.cursorNow());
  subscribe(hub, "", hub.cursorNow());
  assert.deepEqual(hub.subscribe("", hub.cursorNow()), { type: "full", subscribersMax: 2 });
  a.close();
  assert.deepEqual(a.ended, { type: "closed" });
  const c = subscribe(hub, "", hub.cursorNow());
  let woken = false;
  c.onReady(() => woken = true);
  hub.close();
  assert.equal(woken, true);
  assert.deepEqual(c.ended, { type: "closed" });
  assert.deepEqual(hub.subscribe("", hub.cursorNow()), { type: "closed" });
  put("after", "close"); // publishing still works; nobody listens
  assert.equal(hub.subscriberCount, 0);
});

Deno.test("watch hub: ids round-trip; malformed ids are refused", () => {
  assert.deepEqual(parseWatchId("42"), { revision: 42, index: null });
  assert.deepEqual(parseWatchId("42.3"), { revision: 42, index: 3 });
  for (const bad of ["", "x", "-1", "4.", ".4", "1.2.3", "1e3", "9".repeat(16)]) {
    assert.equal(parseWatchId(bad), null, bad);
  }
});

Deno.test("watch hub: property — resuming after any id, in any chunking, neither skips nor repeats", () => {
  const random = seededRandom(7);
  const { d, hub } = fed();
  const keys = ["a/1", "a/2", "b/1", "b/2", "c"];
  const pick = () => keys[Math.floor(random() * keys.length)];
  for (let i = 0; i < 300; i++) {
    const r = random();
    if (r < 0.5) hub.publish(d.put(pick(), `v${i}`));
    else if (r < 0.7) hub.publish(d.del(pick()));
    else if (r < 0.9) {
      const ops = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
        type: random() < 0.7 ? "put" as const : "delete" as const,
        key: pick(),
        value: enc(`t${i}`),
      })).map((op) => op.type === "put" ? op : { type: op.type, key: op.key });
      hub.publish(d.txn([], ops));
    } else {
      hub.publish(d.put(pick(), "ttl", { ttlMs: 1 }));
      d.advance(2);
    }
  }
  for (const prefix of ["", "a/", "b/2", "c"]) {
    const full = subscribe(hub, prefix, hub.cursorFromRevision(1)).take(100_000);
    assert.ok(full.length > 0);
    // Resume after every position, reading in random chunk sizes.
    for (let cut = 0; cut < full.length; cut += 1 + Math.floor(random() * 7)) {
      const cursor = parseWatchId(full[cut].id);
      assert.ok(cursor);
      const s = subscribe(hub, prefix, cursor);
      const got: WatchItem[] = [];
      for (let batch = s.take(1 + Math.floor(random() * 5)); batch.length > 0;) {
        got.push(...batch);
        batch = s.take(1 + Math.floor(random() * 5));
      }
      assert.deepEqual(got, full.slice(cut + 1), `prefix ${prefix} after ${full[cut].id}`);
      s.close();
    }
  }
});

Deno.test("watch hub: a cursor inside a revision this node has not reached waits, it does not spin", () => {
  const { hub, put, txnPuts } = fed();
  put("a", "1"); // revision 1
  // "3.0": an id from a node further ahead (revision 3 is a txn of two events).
  const s = subscribe(hub, "", { revision: 3, index: 0 });
  let woken = 0;
  s.onReady(() => woken++);
  assert.equal(woken, 0, "nothing to read yet: no wake-up");
  assert.deepEqual(s.take(10), []);
  put("b", "2"); // revision 2: still before the cursor
  s.onReady(() => woken++);
  assert.deepEqual(s.take(10), []);
  txnPuts("c", "d"); // revision 3: its event after index 0 is due
  s.onReady(() => woken++);
  assert.ok(woken > 0);
  assert.deepEqual(brief(s.take(10)), ["3 put d"]);
  const before = woken;
  s.onReady(() => woken++);
  assert.equal(woken, before, "caught up: waits again");
});
