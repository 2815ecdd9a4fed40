// `deno bench lib/kv/watch_hub_bench.ts` — the watch hub's cost per published event with many
// live watchers, and a catch-up read of a full window. Not run by tests.

import type { KvEvent } from "./events.ts";
import { WatchHub } from "./watch_hub.ts";

const value = new Uint8Array(100).fill(7);

function event(revision: number): KvEvent[] {
  return [{ type: "put", key: `key/${revision % 1000}`, value, revision, version: 1 }];
}

for (const watchers of [10, 1000]) {
  const hub = new WatchHub(0);
  const subs = Array.from({ length: watchers }, (_, i) => {
    const r = hub.subscribe(i % 2 === 0 ? "" : "key/1", hub.cursorNow());
    if (r.type !== "ok") throw new Error(r.type);
    return r.subscription;
  });
  let revision = 0;
  Deno.bench(`publish + every watcher takes, ${watchers} watchers (half filtered)`, () => {
    hub.publish({ index: ++revision, events: event(revision) });
    for (const s of subs) {
      s.take(256);
      s.onReady(() => {});
    }
  });
}

const full = new WatchHub(0);
for (let r = 1; r <= 10_000; r++) full.publish({ index: r, events: event(r) });

Deno.bench("catch-up: read a 10,000-event window in batches of 256", () => {
  const r = full.subscribe("", full.cursorFromRevision(1));
  if (r.type !== "ok") throw new Error(r.type);
  while (r.subscription.take(256).length > 0) { /* drain */ }
  r.subscription.close();
});

Deno.bench("changedSince over a 10,000-event window (no match)", () => {
  full.changedSince(1, "nomatch/", null);
});
