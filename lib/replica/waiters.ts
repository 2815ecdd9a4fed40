// Clients waiting on the Raft loop: proposals (by reqId, answered when their entry applies),
// read-index requests (by ctx) and waits for an applied index. Each has a deadline.

export class Waiters<K, V> {
  private waiting = new Map<
    K,
    { resolve: (v: V | null) => void; timer: ReturnType<typeof setTimeout> }
  >();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.waiting.size;
  }

  isFull(): boolean {
    return this.waiting.size >= this.max;
  }

  /** Resolves with the value, or null when `timeoutMs` passes first. */
  wait(key: K, timeoutMs: number): Promise<V | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        resolve(null);
      }, timeoutMs);
      this.waiting.set(key, { resolve, timer });
    });
  }

  has(key: K): boolean {
    return this.waiting.has(key);
  }

  resolve(key: K, value: V): boolean {
    const w = this.waiting.get(key);
    if (!w) return false;
    this.waiting.delete(key);
    clearTimeout(w.timer);
    w.resolve(value);
    return true;
  }

  /** Gives every waiter null (shutdown). */
  cancelAll(): void {
    for (const [key] of this.waiting) this.resolveNull(key);
  }

  private resolveNull(key: K): void {
    const w = this.waiting.get(key);
    if (!w) return;
    this.waiting.delete(key);
    clearTimeout(w.timer);
    w.resolve(null);
  }
}

/** Waits until an index has been applied; woken in order as the state machine advances. */
export class IndexWaiters {
  private waiting: {
    index: number;
    resolve: (ok: boolean) => void;
    timer: ReturnType<typeof setTimeout> | undefined;
  }[] = [];

  wait(index: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const entry: (typeof this.waiting)[number] = { index, resolve, timer: undefined };
      entry.timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== entry);
        resolve(false);
      }, timeoutMs);
      this.waiting.push(entry);
    });
  }

  applied(index: number): void {
    if (this.waiting.length === 0) return;
    const ready = this.waiting.filter((w) => w.index <= index);
    if (ready.length === 0) return;
    this.waiting = this.waiting.filter((w) => w.index > index);
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve(true);
    }
  }

  cancelAll(): void {
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiting = [];
  }
}
