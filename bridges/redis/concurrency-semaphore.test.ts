/**
 * What the contract cannot see about the Redis semaphore: its one key and that key's lifetime, and how it
 * behaves while Redis is down.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../../test/support/infra.js';
import { waitFor } from '../../test/support/wait.js';
import { RedisUnavailableError } from './connection.js';
import { createRedisSemaphore } from './concurrency-semaphore.js';
import { deleteKeys, listKeys, startOwnRedis, testPrefix } from './redis.fixture.js';

describe('Redis concurrency semaphore', () => {
  let url: string;
  let observer: Redis;

  beforeAll(async () => {
    url = await redisUrl();
    observer = new Redis(url);
  });
  afterAll(() => {
    observer.disconnect();
  });

  it('keeps one sorted set that outlives its longest lease by a minute and vanishes when emptied', async () => {
    const keyPrefix = testPrefix();
    const sem = createRedisSemaphore({ url, keyPrefix, semaphore: 'executions' });
    try {
      const t = Date.now();
      await sem.acquire('a', 5, 10_000, t);
      await sem.acquire('b', 5, 30_000, t);
      expect(await listKeys(url, keyPrefix)).toEqual([`${keyPrefix}sem:executions`]);
      const ttl = await observer.pttl(`${keyPrefix}sem:executions`);
      expect(ttl).toBeGreaterThan(90_000 - 2_000);
      expect(ttl).toBeLessThanOrEqual(90_000);
      expect(await observer.zscore(`${keyPrefix}sem:executions`, 'b')).toBe(String(t + 30_000));
      await sem.release('a');
      await sem.release('b');
      expect(await listKeys(url, keyPrefix)).toEqual([]);
    } finally {
      await sem.close();
      await deleteKeys(url, keyPrefix);
    }
  });

  it('rejects while Redis is down, then works again without being recreated', async () => {
    const own = await startOwnRedis();
    const sem = createRedisSemaphore({ url: own.url, keyPrefix: testPrefix() });
    try {
      await waitFor(() => sem.ping().then(() => true), { message: 'the first connection' });
      expect(await sem.acquire('a', 1, 10_000, Date.now())).toBe(true);
      await own.stop();
      await waitFor(() => sem.ping().then(() => false, () => true), { message: 'ping to reject' });
      await expect(sem.acquire('b', 1, 10_000, Date.now())).rejects.toThrow(RedisUnavailableError);
      await expect(sem.renew(['a'], 10_000, Date.now())).rejects.toThrow(RedisUnavailableError);
      await expect(sem.release('a')).rejects.toThrow(RedisUnavailableError);
      await own.start();
      await waitFor(() => sem.ping().then(() => true, () => false), { timeoutMs: 10_000, message: 'reconnection' });
      // The restarted server kept nothing: a's lease went with it, b gets the slot.
      expect(await sem.renew(['a'], 10_000, Date.now())).toEqual(['a']);
      expect(await sem.acquire('b', 1, 10_000, Date.now())).toBe(true);
    } finally {
      await sem.close();
      await own.stop();
    }
  });
});
