import { idempotencyKeysContract } from '../../test/contracts/idempotency-keys.contract.js';
import { redisUrl } from '../../test/support/infra.js';
import { createRedisIdempotencyKeys } from './idempotency-keys.js';
import { deleteKeys, testPrefix } from './redis.fixture.js';

idempotencyKeysContract('redis', async (ttlMs) => {
  const url = await redisUrl();
  const keyPrefix = testPrefix();
  const keys = createRedisIdempotencyKeys({ url, keyPrefix, ttlMs });
  const peer = createRedisIdempotencyKeys({ url, keyPrefix, ttlMs });
  return {
    keys,
    peer,
    async cleanup() {
      await Promise.all([keys.close(), peer.close()]);
      await deleteKeys(url, keyPrefix);
    },
  };
});
