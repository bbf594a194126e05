/**
 * What the contract cannot see about the Redis bus: how many subscriptions it holds in Redis. One per channel
 * per bus, whatever the number of local listeners and however subscribe and unsubscribe calls interleave.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FanoutBus, Unsubscribe } from '../../system/ports/fanout-bus.js';
import { redisUrl } from '../../test/support/infra.js';
import { waitFor } from '../../test/support/wait.js';
import { createRedisBus } from './fanout-bus.js';
import { testPrefix } from './redis.fixture.js';

describe('Redis fan-out bus: subscriptions in Redis', () => {
  let url: string;
  let observer: Redis;
  let prefix: string;
  let bus: FanoutBus;
  let peer: FanoutBus;
  let channel: string;

  /** How many connections Redis has subscribed to a channel of this fixture. */
  const numsub = async (name: string): Promise<number> => {
    const reply = (await observer.pubsub('NUMSUB', prefix + name)) as unknown[];
    return Number(reply[1]);
  };

  beforeAll(async () => {
    url = await redisUrl();
    observer = new Redis(url);
  });
  afterAll(() => {
    observer.disconnect();
  });
  beforeEach(() => {
    prefix = testPrefix();
    bus = createRedisBus({ url, channelPrefix: prefix, onListenerError: () => {} });
    peer = createRedisBus({ url, channelPrefix: prefix, onListenerError: () => {} });
    channel = `ch-${randomUUID()}`;
  });
  afterEach(async () => {
    await Promise.all([bus.close(), peer.close()]);
  });

  it('holds one Redis subscription per channel per bus, and drops it with the last listener', async () => {
    const mine = await Promise.all(Array.from({ length: 100 }, () => bus.subscribe(channel, () => {})));
    const theirs = await Promise.all(Array.from({ length: 50 }, () => peer.subscribe(channel, () => {})));
    expect(await numsub(channel)).toBe(2);
    await Promise.all(mine.slice(0, 99).map((unsubscribe) => unsubscribe()));
    expect(await numsub(channel)).toBe(2);
    await mine[99]!();
    expect(await numsub(channel)).toBe(1);
    await Promise.all(theirs.map((unsubscribe) => unsubscribe()));
    expect(await numsub(channel)).toBe(0);
  });

  it('ends consistent however subscribe and unsubscribe calls interleave', async () => {
    const channels = Array.from({ length: 5 }, (_, i) => `${channel}:${i}`);
    const held = new Map<string, Unsubscribe[]>(channels.map((name) => [name, []]));
    const calls: Promise<void>[] = [];
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 400; i++) {
      const name = channels[Math.floor(random() * channels.length)]!;
      const list = held.get(name)!;
      if (list.length > 0 && random() < 0.5) {
        const unsubscribe = list.splice(Math.floor(random() * list.length), 1)[0]!;
        calls.push(unsubscribe());
      } else {
        calls.push(bus.subscribe(name, () => {}).then((unsubscribe) => void list.push(unsubscribe)));
      }
      // Let some calls run while others are still waiting for Redis.
      if (random() < 0.2) await Promise.resolve();
    }
    await Promise.all(calls);
    for (const name of channels) expect(await numsub(name)).toBe(held.get(name)!.length > 0 ? 1 : 0);
    // Every channel still delivers to exactly its listeners.
    const got = new Map<string, number>();
    await Promise.all(channels.map((name) => bus.subscribe(name, () => void got.set(name, (got.get(name) ?? 0) + 1))));
    for (const name of channels) await peer.publish(name, 'hello');
    await waitFor(() => got.size === channels.length, { message: 'every channel' });
    for (const list of held.values()) await Promise.all(list.map((unsubscribe) => unsubscribe()));
    for (const name of channels) expect(await numsub(name)).toBe(1);
  });

  it('publishes to other clients of Redis as soon as subscribe resolves', async () => {
    const publisher = new Redis(url);
    try {
      for (let i = 0; i < 20; i++) {
        const got: string[] = [];
        const name = `${channel}:${i}`;
        const unsubscribe = await bus.subscribe(name, (payload) => got.push(payload));
        // Not through the bus: straight to Redis, right after the subscription was confirmed.
        expect(await publisher.publish(prefix + name, `m${i}`)).toBe(1);
        await waitFor(() => got.length === 1, { message: `message ${i}` });
        await unsubscribe();
      }
    } finally {
      publisher.disconnect();
    }
  });

  it('refuses to work once closed', async () => {
    await bus.close();
    await expect(bus.publish(channel, 'x')).rejects.toThrow(/closed/);
    await expect(bus.subscribe(channel, () => {})).rejects.toThrow(/closed/);
    await expect(bus.ping()).rejects.toThrow(/closed/);
  });
});
