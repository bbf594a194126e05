/**
 * The Sandbox contract against the Kubernetes backend, on the test API server whose kubelet runs each pod's
 * command (the real wrapper and this machine's interpreters) in bubblewrap. What is real: the backend, the client
 * library, HTTP, the watch and log protocols, attach, the wrapper and its framing. What is simulated: the
 * cluster (one process stands in for the API server, the scheduler and the kubelet) and the images.
 */
import { afterAll } from 'vitest';
import { sandboxContract } from '../../test/contracts/sandbox.contract.js';
import { startTestCluster, type TestCluster } from './kube.fixture.js';

let cluster: TestCluster | undefined;
afterAll(async () => cluster?.close());

sandboxContract('kubernetes (test API server, process kubelet)', async () => {
  cluster ??= await startTestCluster('process');
  return cluster.sandbox();
});
