/**
 * A whole node with SANDBOX=kubernetes, its KUBECONFIG pointing at the test API server whose kubelet runs the
 * pods' commands (the real wrapper, this machine's interpreters, in bubblewrap): HTTP in, pod out, result back.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_NAMESPACE, startTestCluster, type TestCluster } from '../../bridges/kubernetes/kube.fixture.js';
import { LABELS } from '../../bridges/kubernetes/labels.js';
import { DENY_ALL_POLICY } from '../../bridges/kubernetes/pod-spec.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

describe('a node on the Kubernetes backend', () => {
  let cluster: TestCluster;
  let t: TestNode;

  beforeAll(async () => {
    cluster = await startTestCluster('process');
    const kubeconfig = join(process.env['TMPDIR'] ?? '/tmp', `kubeconfig-${process.pid}.json`);
    await writeFile(kubeconfig, cluster.server.kubeConfig(TEST_NAMESPACE).exportConfig());
    t = await startTestNode({ SANDBOX: 'kubernetes', KUBECONFIG: kubeconfig, K8S_NAMESPACE: TEST_NAMESPACE, K8S_IMAGE_PREFIX: 'registry.test/' });
  }, 300_000);
  afterAll(async () => {
    await t?.stop();
    await cluster?.close();
  });

  it('offers the image catalogue and hardens the namespace at start', async () => {
    expect(t.node.sandbox.backend).toBe('kubernetes');
    expect(t.node.sandbox.runtimes.find('python')?.versions).toEqual(['3.11', '3.12']);
    expect(cluster.server.get('networkpolicies', TEST_NAMESPACE, DENY_ALL_POLICY)).toBeDefined();
  });

  it('runs a submitted script in a pod and returns its result; the pod and ConfigMap are gone afterwards', async () => {
    const result = await t.run('import sys\nprint("hello from a pod")\nprint("oops", file=sys.stderr)\nsys.exit(2)\n', 'python', '3.11');
    expect(result).toMatchObject({ status: 'failed', stdout: 'hello from a pod\n', stderr: 'oops\n', exit_code: 2 });
    const created = cluster.server.requests.filter((r) => r.startsWith(`POST /api/v1/namespaces/${TEST_NAMESPACE}/pods`));
    expect(created).toHaveLength(1);
    await waitFor(() => cluster.server.list('pods', TEST_NAMESPACE).length === 0 && cluster.server.list('configmaps', TEST_NAMESPACE).length === 0, {
      message: 'pod and ConfigMap deleted',
    });
  });

  it('labels pods with the partition that owns the execution, and the informer watches only owned partitions', async () => {
    const id = await t.submit('import time\nprint("up", flush=True)\ntime.sleep(2)\n', 'python', '3.11');
    const pod = await waitFor(() => cluster.server.list('pods', TEST_NAMESPACE).find((p) => p.metadata.labels?.[LABELS.execution] === id), { message: 'pod' });
    const partition = Number(pod.metadata.labels![LABELS.partition]);
    expect(t.node.router.ownedPartitions()).toContain(partition);
    const watches = cluster.server.requests.filter((r) => r.includes('watch=true')).map((r) => decodeURIComponent(r.replace(/\+/g, ' ')));
    expect(watches.at(-1)).toContain(`${LABELS.partition} in (`);
    await t.stream(id);
    expect((await t.api(`/executions/${id}/result`)).body).toMatchObject({ status: 'completed', stdout: 'up\n' });
  });

  it('classifies what the kubelet reports: OOMKilled is a resource limit, an image pull error a system error', async () => {
    const { server } = cluster;
    const container = (state: object) => [{ name: 'run', image: 'i', imageID: '', ready: false, restartCount: 0, state }];
    try {
      server.onPodCreated = (pod) => {
        const name = pod.metadata!.name!;
        setTimeout(() => server.setPodStatus(TEST_NAMESPACE, name, { phase: 'Running', containerStatuses: container({ running: {} }) }), 20);
        setTimeout(() => server.setPodStatus(TEST_NAMESPACE, name, { phase: 'Failed', containerStatuses: container({ terminated: { exitCode: 137, reason: 'OOMKilled' } }) }), 200);
      };
      expect(await t.run('x = "a" * 10**10\n', 'python', '3.11')).toMatchObject({ status: 'failed', error_type: 'resource_limit' });
      server.onPodCreated = (pod) => {
        setTimeout(() => server.setPodStatus(TEST_NAMESPACE, pod.metadata!.name!, { phase: 'Pending', containerStatuses: container({ waiting: { reason: 'ErrImagePull', message: 'not found' } }) }), 20);
      };
      expect(await t.run('print(1)\n', 'python', '3.11')).toMatchObject({ status: 'error', error_type: 'system_error' });
    } finally {
      cluster.kubelet!.attach();
    }
  });

  it('times out a program at its wall limit', async () => {
    expect((await t.api('/admin/settings/', { method: 'PUT', json: { max_timeout_seconds: 1 } })).status).toBe(200);
    expect(await t.run('import time\ntime.sleep(30)\n', 'python', '3.11')).toMatchObject({ status: 'timeout' });
  }, 60_000);
});
