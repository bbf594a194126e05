/**
 * The RateLimitStore contract: every adapter (in-memory, Redis) must pass it unchanged. Subjects get fresh
 * names, so a shared server needs no wiping. Time is the callers' (`nowMs`): tests start at the next whole
 * hour from now (so windows are aligned) and move forward without sleeping.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CounterKey, CounterRule, RateLimitStore } from '../../system/ports/rate-limit-store.js';

/** A store to test, how many counters it holds (when the adapter can tell), and how to dispose of it. */
export interface RateLimitStoreFixture {
  store: RateLimitStore;
  /** Counters held right now; omit when the adapter cannot count them cheaply. */
  keyCount?: () => Promise<number>;
  cleanup(): Promise<void>;
}

const MINUTE = 60_000;
type WindowRule = Extract<CounterRule, { algorithm: 'sliding_window' }>;
type BucketRule = Extract<CounterRule, { algorithm: 'token_bucket' }>;
const WINDOW: WindowRule = { algorithm: 'sliding_window', limit: 10, windowMs: MINUTE };
const BUCKET: BucketRule = { algorithm: 'token_bucket', capacity: 15, tokensPerWindow: 10, windowMs: MINUTE };

/** Registers the RateLimitStore contract tests for one adapter. */
export function rateLimitStoreContract(name: string, make: () => Promise<RateLimitStoreFixture>): void {
  describe(`RateLimitStore contract: ${name}`, () => {
    let fixture: RateLimitStoreFixture;
    let store: RateLimitStore;
    let subject: string;
    let key: CounterKey;
    const t0 = Math.ceil(Date.now() / 3_600_000) * 3_600_000;
    const hits = async (k: CounterKey, rule: CounterRule, n: number, nowMs: number) => {
      const verdicts = [];
      for (let i = 0; i < n; i++) verdicts.push(await store.hit(k, rule, nowMs));
      return verdicts;
    };

    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
      subject = `user:${randomUUID()}`;
      key = { subject, name: 'execution' };
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('sliding window: admits the limit, counting down, then refuses without counting the refusal', async () => {
      const verdicts = await hits(key, WINDOW, 10, t0 + 1_000);
      expect(verdicts.map((v) => v.allowed)).toEqual(Array(10).fill(true));
      expect(verdicts.map((v) => v.remaining)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(verdicts[0]).toMatchObject({ limit: 10, retryAfterMs: 0, resetAtMs: t0 + MINUTE });
      const refused = await store.hit(key, WINDOW, t0 + 2_000);
      expect(refused).toMatchObject({ allowed: false, limit: 10, remaining: 0 });
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.resetAtMs).toBe(t0 + 2_000 + refused.retryAfterMs);
      for (let i = 0; i < 20; i++) expect((await store.hit(key, WINDOW, t0 + 3_000)).allowed).toBe(false);
      // Refusals were not counted: the previous window weighs 10 × 90 % at 6 s into the next one.
      expect(await hits(key, WINDOW, 2, t0 + MINUTE + 6_000)).toMatchObject([{ allowed: true }, { allowed: false }]);
    });

    it('sliding window: the previous window fades as the window slides, and the retry time is exact', async () => {
      await hits(key, WINDOW, 10, t0 + 59_000);
      const atBoundary = await store.hit(key, WINDOW, t0 + MINUTE);
      expect(atBoundary).toMatchObject({ allowed: false, retryAfterMs: 6_000, resetAtMs: t0 + MINUTE + 6_000 });
      expect((await store.hit(key, WINDOW, t0 + MINUTE + 5_999)).allowed).toBe(false);
      expect(await store.hit(key, WINDOW, t0 + MINUTE + 6_000)).toMatchObject({ allowed: true, remaining: 0 });
      // Half-way: 10 × 50 % + 1 counted = 6, so four more pass.
      const half = await hits(key, WINDOW, 5, t0 + MINUTE + 30_000);
      expect(half.map((v) => v.allowed)).toEqual([true, true, true, true, false]);
      // Two windows later nothing is left.
      expect(await store.hit(key, WINDOW, t0 + 3 * MINUTE)).toMatchObject({ allowed: true, remaining: 9 });
    });

    it('sliding window: a full current window waits for the next one', async () => {
      const rule: CounterRule = { algorithm: 'sliding_window', limit: 4, windowMs: 10_000 };
      await hits(key, rule, 4, t0);
      // Next window: 4 × (1 − f) + 1 ≤ 4 once f ≥ 1/4, i.e. 2.5 s into it.
      expect(await store.hit(key, rule, t0 + 1_000)).toMatchObject({ allowed: false, retryAfterMs: 11_500 });
      expect((await store.hit(key, rule, t0 + 12_499)).allowed).toBe(false);
      expect((await store.hit(key, rule, t0 + 12_500)).allowed).toBe(true);
    });

    it('token bucket: allows the burst, refuses, refills at the steady rate, and fills up again', async () => {
      const burst = await hits(key, BUCKET, 15, t0);
      expect(burst.every((v) => v.allowed && v.limit === 15)).toBe(true);
      expect(burst.at(-1)).toMatchObject({ remaining: 0, resetAtMs: t0 + 90_000 });
      const refused = await store.hit(key, BUCKET, t0);
      expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 6_000, resetAtMs: t0 + 6_000 });
      expect((await store.hit(key, BUCKET, t0 + 5_999)).allowed).toBe(false);
      expect(await hits(key, BUCKET, 2, t0 + 6_000)).toMatchObject([{ allowed: true }, { allowed: false }]);
      // Ninety seconds later the bucket is full again and holds no more than its capacity.
      const refilled = await hits(key, BUCKET, 16, t0 + 6_000 + 10 * MINUTE);
      expect(refilled.filter((v) => v.allowed)).toHaveLength(15);
    });

    it('keeps subjects and names independent', async () => {
      await hits(key, WINDOW, 10, t0);
      expect((await store.hit(key, WINDOW, t0)).allowed).toBe(false);
      expect(await store.hit({ subject, name: 'auth' }, WINDOW, t0)).toMatchObject({ allowed: true, remaining: 9 });
      expect(await store.hit({ subject: `ip:${randomUUID()}`, name: 'execution' }, WINDOW, t0)).toMatchObject({ allowed: true, remaining: 9 });
    });

    it('never admits more than the limit under concurrent hits', async () => {
      const window = await Promise.all(Array.from({ length: 50 }, () => store.hit(key, WINDOW, t0)));
      expect(window.filter((v) => v.allowed)).toHaveLength(10);
      const bucketKey = { subject, name: 'bucket' };
      const bucket = await Promise.all(Array.from({ length: 50 }, () => store.hit(bucketKey, BUCKET, t0)));
      expect(bucket.filter((v) => v.allowed)).toHaveLength(15);
    });

    it('peek reports the standing budget without counting or creating anything', async () => {
      expect(await store.peek(key, WINDOW, t0)).toMatchObject({ allowed: true, limit: 10, remaining: 10, retryAfterMs: 0 });
      expect(await store.peek(key, BUCKET, t0)).toMatchObject({ allowed: true, limit: 15, remaining: 15 });
      if (fixture.keyCount) expect(await fixture.keyCount()).toBe(0);
      await hits(key, WINDOW, 3, t0);
      for (let i = 0; i < 20; i++) expect((await store.peek(key, WINDOW, t0)).remaining).toBe(7);
      await hits(key, WINDOW, 7, t0);
      const full = await store.peek(key, WINDOW, t0 + 1_000);
      expect(full).toMatchObject({ allowed: false, remaining: 0 });
      expect(full.resetAtMs).toBe(t0 + 1_000 + full.retryAfterMs);
    });

    it('reset forgets every counter of one subject only', async () => {
      const other = { subject: `user:${randomUUID()}`, name: 'execution' };
      await hits(key, WINDOW, 10, t0);
      await hits({ subject, name: 'bucket' }, BUCKET, 15, t0);
      await hits(other, WINDOW, 10, t0);
      expect(await store.reset(subject)).toBe(2);
      expect(await store.hit(key, WINDOW, t0)).toMatchObject({ allowed: true, remaining: 9 });
      expect(await store.hit({ subject, name: 'bucket' }, BUCKET, t0)).toMatchObject({ allowed: true, remaining: 14 });
      expect((await store.hit(other, WINDOW, t0)).allowed).toBe(false);
      expect(await store.reset(`user:${randomUUID()}`)).toBe(0);
    });

    it('a counter whose rule changed shape starts afresh; a lowered limit applies to what was counted', async () => {
      await hits(key, WINDOW, 10, t0);
      expect((await store.hit(key, { ...WINDOW, windowMs: 30_000 }, t0)).allowed).toBe(true);
      const other = { subject, name: 'other' };
      await hits(other, WINDOW, 5, t0);
      expect(await store.hit(other, { ...WINDOW, limit: 5 }, t0)).toMatchObject({ allowed: false, remaining: 0 });
    });

    it('rejects a rule that cannot be counted', async () => {
      await expect(store.hit(key, { ...WINDOW, limit: 0 }, t0)).rejects.toThrow();
      await expect(store.hit(key, { ...BUCKET, tokensPerWindow: 0.5 }, t0)).rejects.toThrow();
    });

    it('expires idle counters: they read as fresh, and the store lets go of them', async () => {
      for (let i = 0; i < 100; i++) await store.hit({ subject, name: `g${i}` }, i % 2 ? WINDOW : BUCKET, t0);
      if (fixture.keyCount) expect(await fixture.keyCount()).toBe(100);
      expect(await store.peek({ subject, name: 'g1' }, WINDOW, t0 + 2 * MINUTE)).toMatchObject({ remaining: 10 });
      expect(await store.peek({ subject, name: 'g0' }, BUCKET, t0 + 2 * MINUTE)).toMatchObject({ remaining: 15 });
      if (!fixture.keyCount) return;
      await store.hit({ subject: `ip:${randomUUID()}`, name: 'x' }, WINDOW, t0 + 60 * MINUTE);
      expect(await fixture.keyCount()).toBe(1);
    });

    it('property: no aligned window admits more than the limit, and a bucket no more than it refilled', async () => {
      const gaps = fc.array(fc.integer({ min: 0, max: 4_000 }), { minLength: 1, maxLength: 60 });
      await fc.assert(
        fc.asyncProperty(gaps, fc.integer({ min: 1, max: 6 }), async (steps, limit) => {
          const k = { subject: `ip:${randomUUID()}`, name: 'p' };
          const rule: CounterRule = { algorithm: 'sliding_window', limit, windowMs: 10_000 };
          const bucket: CounterRule = { algorithm: 'token_bucket', capacity: limit + 1, tokensPerWindow: limit, windowMs: 10_000 };
          const perWindow = new Map<number, number>();
          let now = t0;
          let taken = 0;
          for (const gap of steps) {
            now += gap;
            if ((await store.hit(k, rule, now)).allowed) {
              const index = Math.floor(now / 10_000);
              perWindow.set(index, (perWindow.get(index) ?? 0) + 1);
            }
            if ((await store.hit({ ...k, name: 'b' }, bucket, now)).allowed) taken++;
            expect(taken).toBeLessThanOrEqual(limit + 1 + Math.floor(((now - t0) * limit) / 10_000));
          }
          for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(limit);
        }),
        { numRuns: 50 },
      );
    });
  });
}
