import { concurrencySemaphoreContract } from '../../test/contracts/concurrency-semaphore.contract.js';
import { redisUrl } from '../../test/support/infra.js';
import { createRedisSemaphore } from './concurrency-semaphore.js';
import { deleteKeys, testPrefix } from './redis.fixture.js';

concurrencySemaphoreContract('redis', async () => {
  const url = await redisUrl();
  const keyPrefix = testPrefix();
  // Two clients of one semaphore, as two nodes would hold.
  const semaphore = createRedisSemaphore({ url, keyPrefix, name: 'node-a' });
  const peer = createRedisSemaphore({ url, keyPrefix, name: 'node-b' });
  return {
    semaphore,
    peer,
    cleanup: async () => {
      await Promise.all([semaphore.close(), peer.close()]);
      await deleteKeys(url, keyPrefix);
    },
  };
});
