import { concurrencySemaphoreContract } from '../../test/contracts/concurrency-semaphore.contract.js';
import { createMemorySemaphore } from './concurrency-semaphore.js';

concurrencySemaphoreContract('in-memory', async () => {
  const semaphore = createMemorySemaphore();
  return { semaphore, cleanup: () => semaphore.close() };
});
