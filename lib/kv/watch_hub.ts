// The watch hub: a bounded window of recent change events, in revision order, that watchers
// read from at their own pace. Fed with every Applied (in log order) and told when a snapshot
// replaced the state. Pure: no clocks, timers or I/O; it only calls the wake-up callbacks its
// subscribers register.
//
// One shared history instead of a queue per subscriber: a live watcher costs a cursor, not a
// buffer, and memory is bounded by the window whatever the number of watchers. A watcher that
// falls so far behind that the window has moved past its cursor is ended (`lost`): that is
// how a slow consumer is bounded. The same happens when a snapshot from the leader replaces
// the state, since the events between the old state and the snapshot were never seen here.
//
// Several events can share a revision (a txn's writes, or the `expire` events a write reaps
// before its own). Each event's id is "R.k" (k = its position among revision R's events),
// except the last one a watcher gets of revision R, whose id is plain "R". So the id "R" means
// "revision R is complete" and resuming after "R.k" or "R" neither skips nor repeats an event.

import type { KvEvent } from "./events.ts";
import { compareKeys } from "./keys.ts";
import { assert } from "./assert.ts";

export interface WatchHubOptions {
  /** Events retained (whole revisions are dropped, oldest first; the newest is always kept). */
  historyEventsMax: number;
  /** Approximate bytes of retained events (keys, values and a per-event overhead). */
  historyBytesMax: number;
  /** Concurrent subscriptions; more are refused. */
  subscribersMax: number;
}

export const defaultWatchHubOptions: WatchHubOptions = {
  historyEventsMax: 10_000,
  historyBytesMax: 64 * 1024 * 1024,
  subscribersMax: 1024,
};

/** A position in the stream: every event through `index` of `revision` has been seen (all of
 * revision `revision` when `index` is null). */
export interface WatchCursor {
  revision: number;
  index: number | null;
}

export interface WatchItem {
  /** The SSE id: "R" when this is the watcher's last event of revision R, else "R.k". */
  id: string;
  event: KvEvent;
}

export type WatchEnd =
  /** Events the subscriber still needed are gone: it must re-read the state and watch again
   * from `oldestRevision` (or later). */
  | { type: "lost"; reason: "behind" | "restored"; oldestRevision: number }
  /** The hub was closed (the node is stopping). */
  | { type: "closed" };

export type SubscribeResult =
  | { type: "ok"; subscription: WatchSubscription }
  | { type: "tooOld"; oldestRevision: number }
  | { type: "full"; subscribersMax: number }
  | { type: "closed" };

export type ChangedResult =
  | { type: "unchanged" }
  | { type: "changed"; key: string; revision: number }
  | { type: "tooOld"; oldestRevision: number };

/** The events of one applied entry. */
interface Group {
  revision: number;
  events: readonly KvEvent[];
  bytes: number;
}

/** Per-event bookkeeping counted against historyBytesMax besides key and value. */
const EVENT_OVERHEAD_BYTES = 96;

/** The id of the event at `cursor` ("R" when index is null, else "R.k"). */
export function watchId(cursor: WatchCursor): string {
  return cursor.index === null ? String(cursor.revision) : `${cursor.revision}.${cursor.index}`;
}

/** Parses an id made by watchId (e.g. a Last-Event-ID header); null if malformed. */
export function parseWatchId(id: string): WatchCursor | null {
  const m = /^([0-9]{1,15})(?:\.([0-9]{1,6}))?$/.exec(id.trim());
  if (m === null) return null;
  return { revision: Number(m[1]), index: m[2] === undefined ? null : Number(m[2]) };
}

export class WatchHub {
  readonly options: Readonly<WatchHubOptions>;
  /** Retained groups are #groups[#start..]; the front is trimmed lazily. */
  #groups: Group[] = [];
  #start = 0;
  #events = 0;
  #bytes = 0;
  /** Revisions up to and including this one are not retained. */
  #floor: number;
  #subscribers = new Set<WatchSubscription>();
  #closed = false;

  /** `revision`: the store's revision now; the history holds what is published after it. */
  constructor(revision: number, options: Partial<WatchHubOptions> = {}) {
    this.options = Object.freeze({ ...defaultWatchHubOptions, ...options });
    this.#floor = revision;
  }

  /** The smallest revision a watch may start from (inclusive): the history covers it and
   * everything after. */
  get oldestRevision(): number {
    return this.#floor + 1;
  }

  /** The newest revision known (the store's revision as the hub saw it). */
  get revision(): number {
    const n = this.#groups.length;
    return n > this.#start ? this.#groups[n - 1].revision : this.#floor;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Retained events and their approximate bytes. */
  get retained(): { events: number; bytes: number } {
    return { events: this.#events, bytes: this.#bytes };
  }

  /** Records one applied entry's events (Applied has this shape) and wakes the watchers. */
  publish(applied: { index: number; events: readonly KvEvent[] }): void {
    if (applied.events.length === 0) return;
    assert(
      applied.index > this.revision,
      `watch hub: revision ${applied.index} after ${this.revision}`,
    );
    let bytes = 0;
    for (const e of applied.events) {
      bytes += EVENT_OVERHEAD_BYTES + e.key.length * 2 +
        (e.type === "put" ? e.value.byteLength : 0);
    }
    this.#groups.push({ revision: applied.index, events: applied.events, bytes });
    this.#events += applied.events.length;
    this.#bytes += bytes;
    this.#evict();
    for (const s of this.#subscribers) s.wake();
  }

  /** A snapshot replaced the state at store revision `revision`: events before it that were
   * not seen here never will be. Watchers that still needed them are ended. */
  restored(revision: number): void {
    if (revision <= this.revision) return; // the same log position: nothing was skipped
    this.#groups = [];
    this.#start = 0;
    this.#events = 0;
    this.#bytes = 0;
    this.#floor = revision;
    this.#cutBehind("restored");
  }

  /** Starts a subscription at `cursor` (what it has seen; see cursorFrom*). */
  subscribe(prefix: string, cursor: WatchCursor): SubscribeResult {
    if (this.#closed) return { type: "closed" };
    if (!this.#covers(cursor)) return { type: "tooOld", oldestRevision: this.oldestRevision };
    const max = this.options.subscribersMax;
    if (this.#subscribers.size >= max) return { type: "full", subscribersMax: max };
    const subscription = new WatchSubscription(prefix, { ...cursor }, {
      read: (s, itemsMax) => this.#read(s, itemsMax),
      // A cursor inside a revision ("R.k") has more to read only once R is here: a resumed
      // id ahead of this node (a lagging follower) waits, it must not spin.
      pending: (s) =>
        s.cursor.revision < this.revision ||
        (s.cursor.index !== null && s.cursor.revision === this.revision),
      remove: (s) => this.#subscribers.delete(s),
    });
    this.#subscribers.add(subscription);
    return { type: "ok", subscription };
  }

  /** The cursor for "events with revision >= fromRevision". */
  cursorFromRevision(fromRevision: number): WatchCursor {
    return { revision: Math.max(0, fromRevision - 1), index: null };
  }

  /** The cursor for "only what happens from now on". */
  cursorNow(): WatchCursor {
    return { revision: this.revision, index: null };
  }

  /** Did a key with `prefix` (and after `after`, if given) change after `revision`? Decides
   * whether a listing pinned at `revision` can still be served from the current state. */
  changedSince(revision: number, prefix: string, after: string | null): ChangedResult {
    if (revision < this.#floor) return { type: "tooOld", oldestRevision: this.oldestRevision };
    for (let g = this.#firstAfter(revision); g < this.#groups.length; g++) {
      const group = this.#groups[g];
      for (const e of group.events) {
        // Keys at or before `after` were on earlier pages: their changes do not matter here.
        if (e.key.startsWith(prefix) && (after === null || compareKeys(e.key, after) > 0)) {
          return { type: "changed", key: e.key, revision: group.revision };
        }
      }
    }
    return { type: "unchanged" };
  }

  /** Ends every subscription (`closed`) and refuses new ones: the node is stopping. */
  close(): void {
    this.#closed = true;
    for (const s of [...this.#subscribers]) s.end({ type: "closed" });
    this.#subscribers.clear();
  }

  #covers(cursor: WatchCursor): boolean {
    return cursor.revision > this.#floor ||
      (cursor.revision === this.#floor && cursor.index === null);
  }

  /** Drops the oldest revisions while over a bound, keeping at least the newest. */
  #evict(): void {
    const { historyEventsMax, historyBytesMax } = this.options;
    let dropped = false;
    while (
      this.#groups.length - this.#start > 1 &&
      (this.#events > historyEventsMax || this.#bytes > historyBytesMax)
    ) {
      const group = this.#groups[this.#start++];
      this.#events -= group.events.length;
      this.#bytes -= group.bytes;
      this.#floor = group.revision;
      dropped = true;
    }
    // Trim the array now and then, not on every drop (shift is O(n)).
    if (this.#start > 1024 && this.#start * 2 > this.#groups.length) {
      this.#groups = this.#groups.slice(this.#start);
      this.#start = 0;
    }
    if (dropped) this.#cutBehind("behind");
  }

  #cutBehind(reason: "behind" | "restored"): void {
    for (const s of [...this.#subscribers]) {
      if (this.#covers(s.cursor)) continue;
      this.#subscribers.delete(s);
      s.end({ type: "lost", reason, oldestRevision: this.oldestRevision });
    }
  }

  /** Index in #groups of the first retained group with a revision above `revision`. */
  #firstAfter(revision: number): number {
    let lo = this.#start;
    let hi = this.#groups.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#groups[mid].revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Up to `itemsMax` events after the subscription's cursor that match its prefix; moves the
   * cursor past everything it looked at (matching or not). */
  #read(s: WatchSubscription, itemsMax: number): WatchItem[] {
    const out: WatchItem[] = [];
    const from = s.cursor;
    let g = from.index === null
      ? this.#firstAfter(from.revision)
      : this.#firstAfter(from.revision - 1);
    for (; g < this.#groups.length && out.length < itemsMax; g++) {
      const group = this.#groups[g];
      const first = group.revision === from.revision && from.index !== null ? from.index + 1 : 0;
      const last = lastMatch(group.events, s.prefix);
      let done = true;
      for (let i = first; i <= last; i++) {
        const event = group.events[i];
        if (!event.key.startsWith(s.prefix)) continue;
        const cursor = { revision: group.revision, index: i === last ? null : i };
        out.push({ id: watchId(cursor), event });
        s.cursor = cursor;
        if (out.length >= itemsMax && i < last) {
          done = false;
          break;
        }
      }
      if (done) s.cursor = { revision: group.revision, index: null };
    }
    return out;
  }
}

/** Index of the last event whose key has `prefix`, or -1. */
function lastMatch(events: readonly KvEvent[], prefix: string): number {
  for (let i = events.length - 1; i >= 0; i--) {
    if (events[i].key.startsWith(prefix)) return i;
  }
  return -1;
}

interface SubscriptionSource {
  read(s: WatchSubscription, itemsMax: number): WatchItem[];
  pending(s: WatchSubscription): boolean;
  remove(s: WatchSubscription): void;
}

/** One watcher: a prefix, a cursor into the hub's history, and a wake-up callback. */
export class WatchSubscription {
  readonly prefix: string;
  cursor: WatchCursor;
  #source: SubscriptionSource;
  #end: WatchEnd | null = null;
  #wake: (() => void) | null = null;

  constructor(prefix: string, cursor: WatchCursor, source: SubscriptionSource) {
    this.prefix = prefix;
    this.cursor = cursor;
    this.#source = source;
  }

  /** Why the subscription ended, or null while it runs. Events still unread when it ended
   * are not delivered: whatever ended it made them unreliable or moot. */
  get ended(): WatchEnd | null {
    return this.#end;
  }

  /** The next events, at most `itemsMax`; empty once ended or when caught up. */
  take(itemsMax: number): WatchItem[] {
    if (this.#end !== null) return [];
    return this.#source.read(this, Math.max(1, itemsMax));
  }

  /** Calls `callback` once, when more may be read or the subscription ends (at once if
   * either is already so). Replaces an earlier callback not yet called. */
  onReady(callback: () => void): void {
    if (this.#end !== null || this.#source.pending(this)) {
      this.#wake = null;
      callback();
      return;
    }
    this.#wake = callback;
  }

  /** Stops the subscription (the watcher went away). */
  close(): void {
    if (this.#end === null) this.#end = { type: "closed" };
    this.#wake = null;
    this.#source.remove(this);
  }

  /** @internal The hub's signal that more may be read. */
  wake(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** @internal The hub ended the subscription. */
  end(reason: WatchEnd): void {
    if (this.#end !== null) return;
    this.#end = reason;
    this.wake();
  }
}
