import { nodeRegistryContract } from '../../test/contracts/node-registry.contract.js';
import { redisUrl } from '../../test/support/infra.js';
import { createRedisNodeRegistry } from './node-registry.js';
import { deleteKeys, testPrefix } from './redis.fixture.js';

nodeRegistryContract('redis', async () => {
  const url = await redisUrl();
  const keyPrefix = testPrefix();
  const registry = createRedisNodeRegistry({ url, keyPrefix, name: 'node-a' });
  const peer = createRedisNodeRegistry({ url, keyPrefix, name: 'node-b' });
  return {
    registry,
    peer,
    cleanup: async () => {
      await Promise.all([registry.close(), peer.close()]);
      await deleteKeys(url, keyPrefix);
    },
  };
});
