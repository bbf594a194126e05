import { sandboxContract } from '../../test/contracts/sandbox.contract.js';
import { TEST_CGROUP_ROOT, TEST_WORK_DIR } from './bwrap.fixture.js';
import { createThreadedBwrapSandbox } from './threaded.js';

sandboxContract('bwrap in a worker thread', () => createThreadedBwrapSandbox({ workDir: TEST_WORK_DIR, cgroupRoot: TEST_CGROUP_ROOT, goWarmup: 'lazy' }));
