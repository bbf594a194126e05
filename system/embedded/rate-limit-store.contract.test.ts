import { rateLimitStoreContract } from '../../test/contracts/rate-limit-store.contract.js';
import { createMemoryRateLimitStore } from './rate-limit-store.js';

rateLimitStoreContract('in-memory', async () => {
  const store = createMemoryRateLimitStore();
  return { store, keyCount: async () => store.size, cleanup: () => store.close() };
});
