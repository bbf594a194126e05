/**
 * A latency histogram with bounded memory, in the spirit of HdrHistogram: values are kept in microseconds in
 * log-linear buckets. Below 128 µs every microsecond has its own bucket (exact); above, each power of two is split
 * into 64 equal buckets, so a reported value is within 1/128 (< 0.8 %) of a recorded one. Buckets are stored
 * sparsely, and there are never more than ~2 300 of them (values are capped at 2^42 µs, about 50 days), whatever
 * the number of samples.
 */

const LINEAR = 128; // values below this (µs) are exact
const HALF = 64; // sub-buckets per power of two above LINEAR
const MAX_US = 2 ** 42;

/** Percentiles and extremes of a histogram, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The bucket a value in microseconds falls into. */
export function bucketIndex(us: number): number {
  if (us < LINEAR) return us;
  // bits: the number of binary digits of us, i.e. 2^(bits-1) <= us < 2^bits.
  let bits = us < 2 ** 31 ? 32 - Math.clz32(us) : Math.floor(Math.log2(us)) + 1;
  if (2 ** (bits - 1) > us) bits -= 1; // log2 rounding near powers of two
  else if (2 ** bits <= us) bits += 1;
  const shift = bits - 7; // us / 2^shift is in [64, 128)
  const mantissa = Math.floor(us / 2 ** shift);
  return LINEAR + (shift - 1) * HALF + (mantissa - HALF);
}

/** The smallest and largest value (µs) of a bucket. */
export function bucketRange(index: number): [number, number] {
  if (index < LINEAR) return [index, index];
  const k = index - LINEAR;
  const shift = Math.floor(k / HALF) + 1;
  const mantissa = (k % HALF) + HALF;
  const low = mantissa * 2 ** shift;
  return [low, low + 2 ** shift - 1];
}

export class Histogram {
  private readonly buckets = new Map<number, number>();
  private sorted: number[] | null = null;
  count = 0;
  /** Sum of recorded values in ms (for the mean). */
  sum = 0;
  minUs = Number.POSITIVE_INFINITY;
  maxUs = Number.NEGATIVE_INFINITY;

  /** Records one value in milliseconds (negative values count as 0). */
  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const us = Math.min(MAX_US, Math.max(0, Math.round(ms * 1000)));
    const i = bucketIndex(us);
    const before = this.buckets.get(i);
    this.buckets.set(i, (before ?? 0) + 1);
    if (before === undefined) this.sorted = null;
    this.count += 1;
    this.sum += us / 1000;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Adds every sample of another histogram. */
  merge(other: Histogram): void {
    for (const [i, n] of other.buckets) {
      if (!this.buckets.has(i)) this.sorted = null;
      this.buckets.set(i, (this.buckets.get(i) ?? 0) + n);
    }
    this.count += other.count;
    this.sum += other.sum;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /**
   * The p-th percentile (0–100) in ms by the nearest-rank rule: the smallest recorded value with at least
   * p % of the samples at or below it, to within the bucket's resolution. NaN when empty.
   */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.count));
    if (!this.sorted) this.sorted = [...this.buckets.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const i of this.sorted) {
      seen += this.buckets.get(i) ?? 0;
      if (seen >= rank) {
        const [low, high] = bucketRange(i);
        const mid = Math.round((low + high) / 2);
        return Math.min(this.maxUs, Math.max(this.minUs, mid)) / 1000;
      }
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    if (this.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    return {
      count: this.count,
      min: this.minUs / 1000,
      mean: round3(this.sum / this.count),
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.maxUs / 1000,
    };
  }

  /** Distinct buckets in use (memory grows with this, never with the sample count). */
  get bucketCount(): number {
    return this.buckets.size;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
