import { describe, expect, it } from 'vitest';
import { Histogram, bucketIndex, bucketRange } from './histogram.js';
import { Rng } from './rng.js';

/** Nearest-rank percentile of raw values (what the histogram approximates). */
function exact(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('Histogram', () => {
  it('is exact for values below 128 µs', () => {
    const h = new Histogram();
    const values = Array.from({ length: 100 }, (_, i) => (i + 1) / 1000); // 0.001 … 0.100 ms
    for (const v of values) h.record(v);
    for (const p of [1, 50, 90, 99, 100]) expect(h.percentile(p)).toBeCloseTo(exact(values, p), 9);
  });

  it('gives p50/p90/p99 within 1/128 of the exact values for skewed latencies', () => {
    const rng = new Rng(7);
    const values: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      // log-normal-ish: mostly a few ms, a tail to seconds
      const v = Math.exp(rng.next() * 4) * (rng.chance(0.02) ? 300 : 1) * 0.5;
      values.push(Math.round(v * 1000) / 1000);
    }
    const h = new Histogram();
    for (const v of values) h.record(v);
    for (const p of [50, 90, 99, 99.9]) {
      const want = exact(values, p);
      const got = h.percentile(p);
      expect(Math.abs(got - want)).toBeLessThanOrEqual(want / 128 + 0.001);
    }
    expect(h.count).toBe(values.length);
    expect(h.summary().max).toBe(Math.max(...values));
    expect(h.summary().min).toBe(Math.min(...values));
  });

  it('matches hand-computed percentiles of a small set', () => {
    const h = new Histogram();
    for (const v of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) h.record(v);
    // nearest rank: p50 → 5th value, p90 → 9th, p99 → 10th
    expect(h.percentile(50)).toBeCloseTo(5, 1);
    expect(h.percentile(90)).toBeCloseTo(9, 1);
    expect(h.percentile(99)).toBe(10);
    expect(h.summary()).toMatchObject({ count: 10, min: 1, max: 10, mean: 5.5 });
  });

  it('keeps memory bounded whatever the number of samples', () => {
    const h = new Histogram();
    const rng = new Rng(1);
    for (let i = 0; i < 200_000; i++) h.record(rng.next() * 60_000);
    expect(h.bucketCount).toBeLessThan(2_400);
  });

  it('merges', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 50; i++) a.record(i);
    for (let i = 51; i <= 100; i++) b.record(i);
    a.merge(b);
    expect(a.count).toBe(100);
    expect(a.percentile(50)).toBeCloseTo(50, 0);
    expect(a.summary().max).toBe(100);
  });

  it('an empty histogram reports NaN percentiles and a zero summary', () => {
    const h = new Histogram();
    expect(h.percentile(50)).toBeNaN();
    expect(h.summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('buckets tile the value range without gaps or overlaps', () => {
    let expectedLow = 0;
    for (let i = 0; i < 1_500; i++) {
      const [low, high] = bucketRange(i);
      expect(low).toBe(expectedLow);
      expect(bucketIndex(low)).toBe(i);
      expect(bucketIndex(high)).toBe(i);
      if (i >= 128) expect((high - low + 1) / low).toBeLessThanOrEqual(1 / 64);
      expectedLow = high + 1;
    }
  });
});
