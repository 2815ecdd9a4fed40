// An ordered set as a list of sorted chunks: O(log n) search, O(chunk) insert and delete,
// in-order iteration from any point. One flat sorted array would memmove the whole key space
// on every create/delete (100k keys × thousands of writes a second); chunks bound that.

/** Chunks split above this many items; small chunks merge into a neighbour. */
const CHUNK_MAX = 512;
const CHUNK_MIN = CHUNK_MAX / 4;

export type Comparator<T> = (a: T, b: T) => number;

export class SortedSet<T> {
  #chunks: T[][] = [];
  #size = 0;
  readonly #compare: Comparator<T>;

  constructor(compare: Comparator<T>) {
    this.#compare = compare;
  }

  /** Builds a set from items already strictly ascending (checked: throws otherwise). */
  static fromSorted<T>(items: readonly T[], compare: Comparator<T>): SortedSet<T> {
    const set = new SortedSet(compare);
    for (let i = 1; i < items.length; i++) {
      if (compare(items[i - 1], items[i]) >= 0) {
        throw new RangeError(`items not strictly ascending at ${i}`);
      }
    }
    for (let i = 0; i < items.length; i += CHUNK_MAX / 2) {
      set.#chunks.push(items.slice(i, i + CHUNK_MAX / 2));
    }
    set.#size = items.length;
    return set;
  }

  get size(): number {
    return this.#size;
  }

  first(): T | undefined {
    return this.#chunks.length === 0 ? undefined : this.#chunks[0][0];
  }

  has(item: T): boolean {
    const c = this.#chunkFor(item);
    if (c === this.#chunks.length) return false;
    const chunk = this.#chunks[c];
    const i = this.#lowerBound(chunk, item);
    return i < chunk.length && this.#compare(chunk[i], item) === 0;
  }

  /** Adds `item`; false if an equal item is already present. */
  insert(item: T): boolean {
    if (this.#chunks.length === 0) {
      this.#chunks.push([item]);
      this.#size = 1;
      return true;
    }
    // Past the last item: append to the last chunk.
    const c = Math.min(this.#chunkFor(item), this.#chunks.length - 1);
    const chunk = this.#chunks[c];
    const i = this.#lowerBound(chunk, item);
    if (i < chunk.length && this.#compare(chunk[i], item) === 0) return false;
    chunk.splice(i, 0, item);
    this.#size++;
    if (chunk.length > CHUNK_MAX) {
      this.#chunks.splice(c + 1, 0, chunk.splice(CHUNK_MAX / 2));
    }
    return true;
  }

  /** Removes the item equal to `item`; false if absent. */
  delete(item: T): boolean {
    const c = this.#chunkFor(item);
    if (c === this.#chunks.length) return false;
    const chunk = this.#chunks[c];
    const i = this.#lowerBound(chunk, item);
    if (i === chunk.length || this.#compare(chunk[i], item) !== 0) return false;
    chunk.splice(i, 1);
    this.#size--;
    if (chunk.length === 0) this.#chunks.splice(c, 1);
    else if (chunk.length < CHUNK_MIN) this.#mergeSmall(c);
    return true;
  }

  /** Items ≥ `start` (or > `start` when `exclusive`), ascending; all items if start is null. */
  *from(start: T | null, exclusive = false): Generator<T> {
    let c = 0;
    let i = 0;
    if (start !== null) {
      c = this.#chunkFor(start);
      if (c < this.#chunks.length) {
        const chunk = this.#chunks[c];
        i = this.#lowerBound(chunk, start);
        if (exclusive && i < chunk.length && this.#compare(chunk[i], start) === 0) i++;
      }
    }
    for (; c < this.#chunks.length; c++, i = 0) {
      const chunk = this.#chunks[c];
      for (; i < chunk.length; i++) yield chunk[i];
    }
  }

  /** Every item, ascending, as one array. */
  toArray(): T[] {
    return this.#chunks.flat();
  }

  /** Index of the first chunk whose last item is ≥ item; chunks.length if none. */
  #chunkFor(item: T): number {
    let lo = 0;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.#chunks[mid];
      if (this.#compare(chunk[chunk.length - 1], item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #lowerBound(chunk: T[], item: T): number {
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#compare(chunk[mid], item) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #mergeSmall(c: number): void {
    const chunks = this.#chunks;
    const n = c + 1 < chunks.length ? c + 1 : c - 1;
    if (n < 0) return;
    const [left, right] = n > c ? [c, n] : [n, c];
    if (chunks[left].length + chunks[right].length > CHUNK_MAX) return;
    chunks[left].push(...chunks[right]);
    chunks.splice(right, 1);
  }
}
