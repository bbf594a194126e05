/**
 * What the contract cannot see about the Redis registry: its keys, the pruning of expired ids, and records
 * in Redis that do not parse.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../system/ports/node-registry.js';
import { redisUrl } from '../../test/support/infra.js';
import { waitFor } from '../../test/support/wait.js';
import { createRedisNodeRegistry } from './node-registry.js';
import { deleteKeys, listKeys, testPrefix } from './redis.fixture.js';

const info = (nodeId: string): NodeInfo => ({
  nodeId,
  address: 'http://127.0.0.1:8080',
  startedAt: new Date().toISOString(),
  partitions: [1],
  actors: { execution: 1 },
});

describe('Redis node registry', () => {
  let url: string;
  let observer: Redis;
  let keyPrefix: string;

  beforeAll(async () => {
    url = await redisUrl();
    observer = new Redis(url);
  });
  afterAll(() => {
    observer.disconnect();
  });
  afterEach(async () => {
    await deleteKeys(url, keyPrefix);
  });

  it('keeps one expiring key per node and prunes expired ids from the set', async () => {
    keyPrefix = testPrefix();
    const registry = createRedisNodeRegistry({ url, keyPrefix });
    try {
      await registry.heartbeat(info('a:1'), 200);
      await registry.heartbeat(info('b'), 60_000);
      const set = `${keyPrefix}{nodes}`;
      expect(await listKeys(url, keyPrefix)).toEqual([set, `${set}:a%3A1`, `${set}:b`]);
      expect(await observer.pttl(`${set}:b`)).toBeGreaterThan(58_000);
      expect(await observer.pttl(set)).toBeGreaterThan(58_000);
      await waitFor(async () => (await registry.list()).length === 1, { timeoutMs: 3_000, message: 'a:1 to expire' });
      expect(await observer.smembers(set)).toEqual(['b']);
    } finally {
      await registry.close();
    }
  });

  it('skips a record it cannot read, and logs it', async () => {
    keyPrefix = testPrefix();
    const warnings: object[] = [];
    const registry = createRedisNodeRegistry({ url, keyPrefix, logger: { warn: (details) => void warnings.push(details), info: () => {} } });
    try {
      await registry.heartbeat(info('good'), 60_000);
      const set = `${keyPrefix}{nodes}`;
      await observer.set(`${set}:bad`, '{"nodeId":"bad","address":42}', 'PX', 60_000);
      await observer.set(`${set}:worse`, 'not json', 'PX', 60_000);
      await observer.set(`${set}:liar`, JSON.stringify({ ...info('someone-else'), lastSeen: new Date().toISOString() }), 'PX', 60_000);
      await observer.sadd(set, 'bad', 'worse', 'liar');
      expect((await registry.list()).map((n) => n.nodeId)).toEqual(['good']);
      expect(warnings).toEqual([{ nodeId: 'bad' }, { nodeId: 'liar' }, { nodeId: 'worse' }]);
    } finally {
      await registry.close();
    }
  });
});
