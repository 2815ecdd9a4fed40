// Clients waiting on the Raft loop: proposals (by reqId, answered when their entry applies),
// read-index requests (by ctx) and waits for an applied index. Each has a deadline.
//
// One timer per set, armed for the earliest deadline, rather than one per waiter: a timer
// set and cleared per request cost more CPU than the rest of a linearizable read's own work
// (profiled under get load).

/** The clock and timers a waiter set uses; tests pass a fake one. */
export interface WaiterClock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: WaiterClock = {
  now: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

/** A single timer kept at the earliest deadline asked for. */
class DeadlineTimer {
  private handle: unknown = null;
  private at = Infinity;

  constructor(private readonly clock: WaiterClock, private readonly fire: (now: number) => void) {}

  /** Makes sure the timer fires no later than `deadline`. */
  arm(deadline: number): void {
    if (this.handle !== null && this.at <= deadline) return;
    this.disarm();
    this.at = deadline;
    this.handle = this.clock.setTimeout(() => {
      this.handle = null;
      this.at = Infinity;
      this.fire(this.clock.now());
    }, Math.max(0, deadline - this.clock.now()));
  }

  disarm(): void {
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
    this.at = Infinity;
  }
}

/** Waiters by key, all with the same timeout, so deadlines come in insertion order. */
export class Waiters<K, V> {
  private waiting = new Map<K, { resolve: (v: V | null) => void; deadline: number }>();
  private readonly timer: DeadlineTimer;

  constructor(
    private readonly max: number,
    private readonly timeoutMs: number,
    private readonly clock: WaiterClock = realClock,
  ) {
    this.timer = new DeadlineTimer(clock, (now) => this.expire(now));
  }

  get size(): number {
    return this.waiting.size;
  }

  isFull(): boolean {
    return this.waiting.size >= this.max;
  }

  /** Resolves with the value, or null when the timeout passes first. A key already waiting
   * is answered null and replaced. */
  wait(key: K): Promise<V | null> {
    return new Promise((resolve) => {
      this.settle(key, null);
      const deadline = this.clock.now() + this.timeoutMs;
      this.waiting.set(key, { resolve, deadline });
      this.timer.arm(deadline);
    });
  }

  has(key: K): boolean {
    return this.waiting.has(key);
  }

  resolve(key: K, value: V): boolean {
    return this.settle(key, value);
  }

  /** Gives every waiter null (shutdown). */
  cancelAll(): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    this.timer.disarm();
    for (const w of all) w.resolve(null);
  }

  private settle(key: K, value: V | null): boolean {
    const w = this.waiting.get(key);
    if (!w) return false;
    this.waiting.delete(key);
    w.resolve(value);
    return true;
  }

  /** Maps iterate in insertion order, which is deadline order here. */
  private expire(now: number): void {
    for (const [key, w] of this.waiting) {
      if (w.deadline > now) return this.timer.arm(w.deadline);
      this.waiting.delete(key);
      w.resolve(null);
    }
  }
}

/** Waits until an index has been applied; woken in order as the state machine advances. */
export class IndexWaiters {
  private waiting: { index: number; deadline: number; resolve: (ok: boolean) => void }[] = [];
  private readonly timer: DeadlineTimer;

  constructor(private readonly clock: WaiterClock = realClock) {
    this.timer = new DeadlineTimer(clock, (now) => this.expire(now));
  }

  get size(): number {
    return this.waiting.length;
  }

  wait(index: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const deadline = this.clock.now() + timeoutMs;
      this.waiting.push({ index, deadline, resolve });
      this.timer.arm(deadline);
    });
  }

  applied(index: number): void {
    if (this.waiting.length === 0) return;
    const ready = this.waiting.filter((w) => w.index <= index);
    if (ready.length === 0) return;
    this.waiting = this.waiting.filter((w) => w.index > index);
    for (const w of ready) w.resolve(true);
  }

  cancelAll(): void {
    const all = this.waiting;
    this.waiting = [];
    this.timer.disarm();
    for (const w of all) w.resolve(false);
  }

  private expire(now: number): void {
    const due = this.waiting.filter((w) => w.deadline <= now);
    this.waiting = this.waiting.filter((w) => w.deadline > now);
    let next = Infinity;
    for (const w of this.waiting) next = Math.min(next, w.deadline);
    if (next < Infinity) this.timer.arm(next);
    for (const w of due) w.resolve(false);
  }
}
