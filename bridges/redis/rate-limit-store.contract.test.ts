import { rateLimitStoreContract } from '../../test/contracts/rate-limit-store.contract.js';
import { redisUrl } from '../../test/support/infra.js';
import { createRedisRateLimitStore } from './rate-limit-store.js';
import { deleteKeys, testPrefix } from './redis.fixture.js';

// No keyCount: Redis lets counters go by its own clock (PEXPIRE), while the contract moves the callers' clock
// hours ahead without waiting. rate-limit-store.test.ts checks the keys and their lifetimes directly.
rateLimitStoreContract('redis', async () => {
  const url = await redisUrl();
  const keyPrefix = testPrefix();
  const store = createRedisRateLimitStore({ url, keyPrefix });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await deleteKeys(url, keyPrefix);
    },
  };
});
