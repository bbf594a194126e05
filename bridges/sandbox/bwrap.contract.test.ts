import { sandboxContract } from '../../test/contracts/sandbox.contract.js';
import { testSandbox } from './bwrap.fixture.js';

sandboxContract('bwrap', () => testSandbox());
