/**
 * What the contract cannot see about the Redis counters: the keys they leave and their lifetimes, that two
 * nodes count against one budget, that every hit and peek answer equals the embedded store's, that a Redis
 * outage makes calls reject (not hang, not crash) and recovery needs no new store, and that a lost script
 * cache is refilled.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryRateLimitStore } from '../../system/embedded/rate-limit-store.js';
import type { CounterRule, RateLimitStore } from '../../system/ports/rate-limit-store.js';
import { redisUrl } from '../../test/support/infra.js';
import { waitFor } from '../../test/support/wait.js';
import { createRedisRateLimitStore } from './rate-limit-store.js';
import { deleteKeys, listKeys, startOwnRedis, testPrefix, type OwnRedis } from './redis.fixture.js';

const MINUTE = 60_000;
const WINDOW: CounterRule = { algorithm: 'sliding_window', limit: 10, windowMs: MINUTE };
const BUCKET: CounterRule = { algorithm: 'token_bucket', capacity: 15, tokensPerWindow: 10, windowMs: MINUTE };

describe('Redis rate-limit store: keys, sharing and parity with the embedded store', () => {
  let url: string;
  let observer: Redis;
  let prefix: string;
  const stores: RateLimitStore[] = [];
  const open = (keyPrefix = prefix): RateLimitStore => {
    const store = createRedisRateLimitStore({ url, keyPrefix });
    stores.push(store);
    return store;
  };
  const now = () => Math.floor(Date.now() / MINUTE) * MINUTE + 1_000;

  beforeAll(async () => {
    url = await redisUrl();
    observer = new Redis(url);
  });
  afterAll(() => {
    observer.disconnect();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await deleteKeys(url, prefix);
  });

  it('keeps one hash per counter and one set per subject, both expiring; peek and refusals write nothing', async () => {
    prefix = testPrefix();
    const store = open();
    const t = now();
    const subject = 'user:a{b}:c';
    await store.peek({ subject, name: 'x' }, WINDOW, t);
    expect(await listKeys(url, prefix)).toEqual([]);
    for (let i = 0; i < 10; i++) await store.hit({ subject, name: 'win' }, WINDOW, t);
    await store.hit({ subject, name: 'bucket' }, BUCKET, t);
    const keys = await listKeys(url, prefix);
    const set = `${prefix}rl:{${encodeURIComponent(subject)}}`;
    expect(keys).toEqual([set, `${set}:bucket`, `${set}:win`].sort());
    // A window counter lives until two windows after its own started; a bucket until it would be full again.
    const windowTtl = await observer.pttl(`${set}:win`);
    expect(windowTtl).toBeGreaterThan(2 * MINUTE - 1_000 - 2_000);
    expect(windowTtl).toBeLessThanOrEqual(2 * MINUTE - 1_000);
    const bucketTtl = await observer.pttl(`${set}:bucket`);
    expect(bucketTtl).toBeGreaterThan(6_000 - 2_000);
    expect(bucketTtl).toBeLessThanOrEqual(6_000);
    expect(await observer.pttl(set)).toBeGreaterThanOrEqual(windowTtl - 100);
    const before = await observer.hgetall(`${set}:win`);
    expect((await store.hit({ subject, name: 'win' }, WINDOW, t)).allowed).toBe(false);
    expect(await observer.hgetall(`${set}:win`)).toEqual(before);
    expect(await store.reset(subject)).toBe(2);
    expect(await listKeys(url, prefix)).toEqual([]);
  });

  it('two nodes count against one budget', async () => {
    prefix = testPrefix();
    const a = open();
    const b = open();
    const key = { subject: `ip:${randomUUID()}`, name: 'execution' };
    const t = now();
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).hit(key, WINDOW, t)));
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
    expect(await a.peek(key, WINDOW, t)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await b.reset(key.subject)).toBe(1);
    expect(await a.peek(key, WINDOW, t)).toMatchObject({ allowed: true, remaining: 10 });
  });

  it('answers exactly as the embedded store does, verb by verb', async () => {
    prefix = testPrefix();
    const redis = open();
    const t0 = now();
    const rule = fc.oneof(
      fc.record({
        algorithm: fc.constant('sliding_window' as const),
        limit: fc.integer({ min: 1, max: 8 }),
        windowMs: fc.constantFrom(1_000, 7_000, 10_000),
      }),
      fc.record({
        algorithm: fc.constant('token_bucket' as const),
        capacity: fc.integer({ min: 1, max: 8 }),
        tokensPerWindow: fc.integer({ min: 1, max: 9 }),
        windowMs: fc.constantFrom(1_000, 7_000, 10_000),
      }),
    );
    const step = fc.record({
      verb: fc.constantFrom('hit', 'hit', 'hit', 'peek', 'reset'),
      name: fc.constantFrom('a', 'b'),
      rule,
      gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 12_000 })),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const memory = createMemoryRateLimitStore();
        const subject = `user:${run++}`;
        let t = t0;
        for (const s of steps) {
          t += s.gap;
          const key = { subject, name: s.name };
          // reset's count may differ: a counter expired by the callers' clock but not yet by Redis' is
          // still there to count (the embedded store also counts expired counters it has not swept yet).
          if (s.verb === 'reset') await Promise.all([redis.reset(subject), memory.reset(subject)]);
          else expect(await redis[s.verb](key, s.rule, t)).toEqual(await memory[s.verb](key, s.rule, t));
        }
        await redis.reset(subject);
      }),
      { numRuns: 60 },
    );
  });
});

describe('Redis rate-limit store on a server of its own: outage and script cache', () => {
  let redis: OwnRedis;

  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('rejects while Redis is down and works again, without a new store, once it is back', async () => {
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = { warn: (_: object, message: string) => void warnings.push(message), info: (_: object, message: string) => void infos.push(message) };
    const store = createRedisRateLimitStore({ url: redis.url, keyPrefix: testPrefix(), logger });
    try {
      const key = { subject: `user:${randomUUID()}`, name: 'x' };
      const t = Date.now();
      await waitFor(() => store.ping().then(() => true), { message: 'the first connection' });
      expect((await store.hit(key, WINDOW, t)).allowed).toBe(true);

      await redis.stop();
      await waitFor(() => store.ping().then(() => false, () => true), { message: 'ping to reject' });
      const started = Date.now();
      await expect(store.hit(key, WINDOW, t)).rejects.toThrow();
      await expect(store.peek(key, WINDOW, t)).rejects.toThrow();
      await expect(store.reset(key.subject)).rejects.toThrow();
      // Known down: each call fails at once (at worst, one caught mid-attempt waits out maxRetriesPerRequest).
      expect(Date.now() - started).toBeLessThan(4_000);
      // Still down a while later: a ping answers at once, it does not wait for a reconnection.
      const pingStarted = Date.now();
      await expect(store.ping()).rejects.toThrow(/unreachable|max retries|Connection/i);
      expect(Date.now() - pingStarted).toBeLessThan(3_500);
      // The outage is reported once, however many reconnection attempts fail.
      await waitFor(() => warnings.length > 0, { message: 'the outage to be logged' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(warnings).toEqual(['redis connection trouble; retrying']);

      await redis.start();
      await waitFor(() => store.ping().then(() => true, () => false), { timeoutMs: 10_000, message: 'reconnection' });
      // The restarted server kept nothing (no persistence) and lost its script cache; both are fine.
      expect(await store.hit(key, WINDOW, t)).toMatchObject({ allowed: true, remaining: 9 });
      expect(await store.reset(key.subject)).toBe(1);
      expect(infos).toEqual(['redis connection restored']);
    } finally {
      await store.close();
    }
  });

  // On this file's own server: SCRIPT FLUSH on the shared one would disturb other suites' scripts.
  it('runs its scripts again after Redis forgot them (SCRIPT FLUSH)', async () => {
    const store = createRedisRateLimitStore({ url: redis.url, keyPrefix: testPrefix() });
    const admin = new Redis(redis.url);
    try {
      const key = { subject: `user:${randomUUID()}`, name: 'x' };
      const t = Date.now();
      expect((await store.hit(key, WINDOW, t)).remaining).toBe(9);
      await admin.script('FLUSH');
      expect((await store.hit(key, WINDOW, t)).remaining).toBe(8);
      expect((await store.peek(key, WINDOW, t)).remaining).toBe(8);
      expect(await store.reset(key.subject)).toBe(1);
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});
