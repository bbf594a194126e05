/**
 * The Redis bus against a Redis that goes away and comes back: this file runs its own redis-server, shuts it
 * down (SHUTDOWN NOSAVE) and starts it again on the same port. Subscriptions survive (the bus re-subscribes
 * once reconnected), a channel whose last listener left during the outage does not come back, and while
 * Redis is down calls reject instead of hanging or crashing the process.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait.js';
import { createRedisBus } from './fanout-bus.js';
import { startOwnRedis, testPrefix, type OwnRedis } from './redis.fixture.js';

describe('Redis fan-out bus across a Redis restart', () => {
  let redis: OwnRedis;

  beforeAll(async () => {
    redis = await startOwnRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** PUBSUB NUMSUB of one channel, from a short-lived client. */
  const numsub = async (channel: string): Promise<number> => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const reply = (await client.pubsub('NUMSUB', channel)) as unknown[];
      return Number(reply[1]);
    } finally {
      client.disconnect();
    }
  };

  it('keeps delivering after a restart, re-subscribing once per channel', async () => {
    const prefix = testPrefix();
    const errors: unknown[] = [];
    const logger = { warn: () => {}, info: () => {} };
    const bus = createRedisBus({ url: redis.url, channelPrefix: prefix, logger, onListenerError: (e) => errors.push(e) });
    const peer = createRedisBus({ url: redis.url, channelPrefix: prefix, logger });
    try {
      const kept: string[] = [];
      const alsoKept: string[] = [];
      const dropped: string[] = [];
      await bus.subscribe('kept', (payload) => kept.push(payload));
      await bus.subscribe('kept', (payload) => alsoKept.push(payload));
      const leave = await bus.subscribe('left-during-outage', (payload) => dropped.push(payload));
      await peer.publish('kept', 'before');
      await waitFor(() => kept.length === 1 && alsoKept.length === 1, { message: 'the first message' });

      await redis.stop();
      await waitFor(() => bus.ping().then(() => false, () => true), { message: 'ping to reject while Redis is down' });
      const started = Date.now();
      await expect(peer.publish('kept', 'lost')).rejects.toThrow();
      await expect(bus.subscribe('new-during-outage', () => {})).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(leave()).resolves.toBeUndefined();

      await redis.start();
      await waitFor(() => bus.ping().then(() => true, () => false), { timeoutMs: 10_000, message: 'the bus to reconnect' });
      await waitFor(() => peer.ping().then(() => true, () => false), { timeoutMs: 10_000, message: 'the peer to reconnect' });
      // Re-subscription follows the reconnection; publish until it has happened.
      await waitFor(
        async () => {
          await peer.publish('kept', 'probe');
          return kept.includes('probe');
        },
        { timeoutMs: 10_000, intervalMs: 50, message: 'delivery after the restart' },
      );
      expect(await numsub(`${prefix}kept`)).toBe(1);
      expect(await numsub(`${prefix}left-during-outage`)).toBe(0);
      expect(await numsub(`${prefix}new-during-outage`)).toBe(0);

      // Exactly once per message from here on, to both listeners.
      const probes = kept.length;
      await peer.publish('kept', 'after');
      await peer.publish('left-during-outage', 'nobody');
      await waitFor(() => kept.at(-1) === 'after' && alsoKept.at(-1) === 'after', { message: 'the last message' });
      expect(kept.slice(probes)).toEqual(['after']);
      expect(kept.filter((p) => p === 'lost')).toEqual([]);
      expect(dropped).toEqual([]);
      expect(errors).toEqual([]);

      // New subscriptions work on the recovered connection too.
      const fresh: string[] = [];
      await bus.subscribe('fresh', (payload) => fresh.push(payload));
      await peer.publish('fresh', 'hi');
      await waitFor(() => fresh.length === 1, { message: 'the fresh message' });
    } finally {
      await Promise.all([bus.close(), peer.close()]);
    }
  });
});
