import { nodeRegistryContract } from '../../test/contracts/node-registry.contract.js';
import { createMemoryNodeRegistry } from './node-registry.js';

nodeRegistryContract('in-memory', async () => {
  const registry = createMemoryNodeRegistry();
  return { registry, cleanup: () => registry.close() };
});
