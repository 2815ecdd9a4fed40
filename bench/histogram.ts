// A fixed-size log-linear latency histogram (the HdrHistogram idea, cut down): recording is
// a few integer operations and one array increment, so the load generator's hot loop
// allocates nothing per request. Values are whole microseconds; every bucket is narrower
// than 1/64 of its values (under 1.6% error), and the exact maximum is kept on the side.

/** Values below 2^SUB_BITS µs get a bucket each; above, each power of two gets HALF buckets. */
const SUB_BITS = 7;
const HALF = 1 << (SUB_BITS - 1);
/** Largest value kept apart from clamping: 2^36 µs is about 19 hours. */
const BITS_MAX = 36;
const BUCKETS = (BITS_MAX - SUB_BITS + 2) * HALF;
export const HISTOGRAM_VALUE_MAX_US = 2 ** BITS_MAX - 1;

/** Bucket of a non-negative integer value in µs. */
export function bucketOf(valueUs: number): number {
  if (valueUs < 2 * HALF) return valueUs;
  // Math.clz32 is only good for 32 bits; values past 2^31 µs (36 minutes) split the hard way.
  const bits = valueUs < 2 ** 31 ? 32 - Math.clz32(valueUs) : Math.floor(Math.log2(valueUs)) + 1;
  const shift = bits - SUB_BITS;
  return shift * HALF + Math.floor(valueUs / 2 ** shift);
}

/** The smallest value in µs that falls into `bucket`. */
export function bucketLowUs(bucket: number): number {
  if (bucket < 2 * HALF) return bucket;
  const shift = Math.floor(bucket / HALF) - 1;
  return (bucket - shift * HALF) * 2 ** shift;
}

/** One past the largest value in µs that falls into `bucket`. */
export function bucketHighUs(bucket: number): number {
  return bucketLowUs(bucket + 1);
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private maxUs = 0;

  /** Records one latency given in milliseconds (as performance.now() differences are). */
  recordMs(ms: number): void {
    let us = Math.round(ms * 1000);
    if (!(us >= 0)) us = 0; // a clock step backwards or NaN: count it as instant
    if (us > HISTOGRAM_VALUE_MAX_US) us = HISTOGRAM_VALUE_MAX_US;
    this.counts[bucketOf(us)]++;
    this.total++;
    if (us > this.maxUs) this.maxUs = us;
  }

  get count(): number {
    return this.total;
  }

  /** The exact largest value recorded, in ms (0 when empty). */
  maxMs(): number {
    return this.maxUs / 1000;
  }

  /**
   * The value at quantile q (0 < q ≤ 1) in ms: the midpoint of the bucket holding the
   * ceil(q·count)-th smallest value (nearest-rank), never above the recorded maximum.
   * 0 when empty.
   */
  quantileMs(q: number): number {
    if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${q}`);
    if (this.total === 0) return 0;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket];
      if (seen >= rank) {
        const low = bucketLowUs(bucket);
        const mid = low + (bucketHighUs(bucket) - 1 - low) / 2;
        return Math.min(mid, this.maxUs) / 1000;
      }
    }
    return this.maxMs();
  }

  /** Adds every value of `other` into this histogram. */
  merge(other: Histogram): void {
    for (let bucket = 0; bucket < BUCKETS; bucket++) this.counts[bucket] += other.counts[bucket];
    this.total += other.total;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.maxUs = 0;
  }
}

/** The median of `values` (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
