// The waiter sets on a fake clock: answers, deadlines, and one timer per set at a time.

import assert from "node:assert/strict";
import { IndexWaiters, type WaiterClock, Waiters } from "./waiters.ts";

class FakeClock implements WaiterClock {
  t = 0;
  private timers = new Map<number, { at: number; f: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(f: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, f });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time forward, firing due timers in deadline order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at);
      if (due.length === 0) break;
      const [id, { at, f }] = due[0];
      this.timers.delete(id);
      this.t = at;
      f();
    }
    this.t = end;
  }
}

/** Lets settled promises run their reactions. */
const flush = () => new Promise((r) => setTimeout(r, 0));

function track<T>(p: Promise<T>): { value: T | undefined; done: boolean } {
  const out = { value: undefined as T | undefined, done: false };
  p.then((v) => {
    out.value = v;
    out.done = true;
  });
  return out;
}

Deno.test("Waiters: answered by key; each deadline passes on time, with one timer", async () => {
  const clock = new FakeClock();
  const w = new Waiters<string, number>(10, 100, clock);
  const a = track(w.wait("a"));
  clock.advance(30);
  const b = track(w.wait("b"));
  clock.advance(30);
  const c = track(w.wait("c"));
  assert.equal(clock.pending, 1, "one timer for the set");
  assert.equal(w.resolve("b", 7), true);
  assert.equal(w.resolve("b", 8), false, "answered once");
  clock.advance(39); // t = 99
  await flush();
  assert.deepEqual([a.done, b.value, c.done], [false, 7, false]);
  clock.advance(1); // t = 100: a's deadline
  await flush();
  assert.deepEqual([a.done, a.value, c.done], [true, null, false]);
  assert.equal(w.size, 1);
  clock.advance(59); // t = 159
  await flush();
  assert.equal(c.done, false);
  clock.advance(1); // t = 160
  await flush();
  assert.deepEqual([c.done, c.value, w.size, clock.pending], [true, null, 0, 0]);
});

Deno.test("Waiters: full at max; cancelAll answers null and stops the timer", async () => {
  const clock = new FakeClock();
  const w = new Waiters<number, string>(2, 100, clock);
  const x = track(w.wait(1));
  const y = track(w.wait(2));
  assert.equal(w.isFull(), true);
  w.cancelAll();
  await flush();
  assert.deepEqual([x.value, y.value, w.size, clock.pending], [null, null, 0, 0]);
  assert.equal(w.isFull(), false);
});

Deno.test("IndexWaiters: woken by applied index; different timeouts expire in time order", async () => {
  const clock = new FakeClock();
  const w = new IndexWaiters(clock);
  const long = track(w.wait(5, 1000));
  const short = track(w.wait(9, 50));
  const mid = track(w.wait(3, 200));
  assert.equal(clock.pending, 1);
  w.applied(4);
  await flush();
  assert.deepEqual([mid.value, long.done, short.done], [true, false, false]);
  clock.advance(50);
  await flush();
  assert.deepEqual([short.done, short.value, long.done], [true, false, false]);
  w.applied(5);
  await flush();
  assert.deepEqual([long.value, w.size], [true, 0]);
  // The timer is left armed (re-arming per request is what this avoids); firing is harmless.
  clock.advance(1000);
  assert.equal(clock.pending, 0);
  const late = track(w.wait(6, 10));
  clock.advance(10);
  await flush();
  assert.equal(late.value, false);
});
