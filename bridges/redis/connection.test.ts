import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { waitFor } from '../../test/support/wait.js';
import { closeRedisClient, createRedisClient, pingRedis, reconnectDelay, RedisUnavailableError } from './connection.js';
import { startOwnRedis } from './redis.fixture.js';

describe('Redis connections', () => {
  const clients: Redis[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => closeRedisClient(client)));
  });

  it('backs off from 50 ms, doubling, capped at about a second', () => {
    for (let attempt = 1; attempt <= 50; attempt++) {
      const delay = reconnectDelay(attempt);
      const base = Math.min(1_000, 50 * 2 ** (attempt - 1));
      expect(delay).toBeGreaterThanOrEqual(base);
      expect(delay).toBeLessThanOrEqual(base * 1.1 + 1);
    }
    expect(reconnectDelay(30, 200)).toBeLessThanOrEqual(221);
  });

  it('never crashes on an unreachable server: logs once, rejects quickly, closes cleanly', async () => {
    // A port nobody listens on: start a server, stop it, keep the port.
    const own = await startOwnRedis();
    await own.stop();
    const warnings: string[] = [];
    const client = createRedisClient({ url: own.url, logger: { warn: (_, m) => void warnings.push(m), info: () => {} } });
    clients.push(client);
    const silent = createRedisClient({ url: own.url });
    clients.push(silent);
    await waitFor(() => client.status === 'reconnecting', { message: 'a failed attempt' });
    await expect(pingRedis(client)).rejects.toThrow();
    // Even a command caught mid-attempt is rejected after maxRetriesPerRequest (2) more attempts.
    const started = Date.now();
    await expect(client.get('x')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(() => warnings.length > 0, { message: 'a warning' });
    expect(warnings).toHaveLength(1);
    // Closing between reconnection attempts settles what was still queued.
    await waitFor(() => client.status === 'connecting', { intervalMs: 1, message: 'an attempt under way' });
    const queued = client.get('x');
    await closeRedisClient(client);
    await expect(queued).rejects.toThrow(/closed/);
    await expect(pingRedis(client)).rejects.toThrow();
  });
});
