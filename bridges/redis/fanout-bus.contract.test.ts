import { fanoutBusContract } from '../../test/contracts/fanout-bus.contract.js';
import { redisUrl } from '../../test/support/infra.js';
import { createRedisBus } from './fanout-bus.js';
import { testPrefix } from './redis.fixture.js';

fanoutBusContract('redis', async () => {
  const url = await redisUrl();
  // Both buses share a channel prefix (the same deployment); another fixture's prefix keeps its messages apart.
  const channelPrefix = testPrefix();
  const bus = createRedisBus({ url, channelPrefix, onListenerError: () => {} });
  const peer = createRedisBus({ url, channelPrefix, onListenerError: () => {} });
  return {
    bus,
    peer,
    cleanup: async () => {
      await Promise.all([bus.close(), peer.close()]);
    },
  };
});
