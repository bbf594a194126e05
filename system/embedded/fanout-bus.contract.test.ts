import { fanoutBusContract } from '../../test/contracts/fanout-bus.contract.js';
import { createInProcessBus } from './fanout-bus.js';

fanoutBusContract('in-process', async () => {
  const bus = createInProcessBus({ onListenerError: () => {} });
  return { bus, cleanup: () => bus.close() };
});
