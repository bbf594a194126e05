/**
 * The saga's own deadline, on whole nodes with SANDBOX=kubernetes against the test API server with no kubelet:
 * the test makes each pod Running and never lets it end, so no outcome comes unless someone deletes the pod.
 * - The API refuses the watcher's delete at the wall limit: the run hangs, and only the saga's deadline (start +
 *   wall + SAGA_DEADLINE_GRACE_SECONDS) ends it: the pod is deleted, the slot freed, the execution `timeout`.
 * - A node stops mid-run and the next owner starts after the deadline: the saga continued from its journal finds
 *   the stored deadline past and times out at once, deleting the pod, without running the script again.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_NAMESPACE, startTestCluster, type TestCluster } from '../../bridges/kubernetes/kube.fixture.js';
import { LABELS } from '../../bridges/kubernetes/labels.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { createTempDir, type TempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

let cluster: TestCluster;
let kubeconfig: string;
const nodes: TestNode[] = [];
const dirs: TempDir[] = [];

beforeAll(async () => {
  cluster = await startTestCluster('none');
  kubeconfig = join(process.env['TMPDIR'] ?? '/tmp', `kubeconfig-saga-${process.pid}.json`);
  await writeFile(kubeconfig, cluster.server.kubeConfig(TEST_NAMESPACE).exportConfig());
  // Every pod starts running and never ends by itself.
  cluster.server.onPodCreated = (pod: V1Pod) => {
    const running = [{ name: 'run', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } } }];
    setTimeout(() => cluster.server.setPodStatus(TEST_NAMESPACE, pod.metadata!.name!, { phase: 'Running', containerStatuses: running }), 20);
  };
}, 120_000);
afterAll(async () => {
  for (const n of nodes.splice(0)) await n.stop().catch(() => undefined);
  await cluster?.close();
  for (const d of dirs.splice(0)) await d.cleanup();
});

async function startNode(dataDir: string): Promise<TestNode> {
  const node = await startTestNode({
    DATA_DIR: dataDir,
    SANDBOX: 'kubernetes',
    KUBECONFIG: kubeconfig,
    K8S_NAMESPACE: TEST_NAMESPACE,
    K8S_IMAGE_PREFIX: 'registry.test/',
    SAGA_DEADLINE_GRACE_SECONDS: '1',
    SHUTDOWN_GRACE_SECONDS: '0',
  });
  nodes.push(node);
  return node;
}

const podOf = (id: string) => cluster.server.list('pods', TEST_NAMESPACE).find((p) => p.metadata.labels?.[LABELS.execution] === id);
const deletesOf = (name: string) => cluster.server.requests.filter((r) => r.startsWith(`DELETE /api/v1/namespaces/${TEST_NAMESPACE}/pods/${name}`)).length;
const eventTypes = async (t: TestNode, id: string) => ((await t.api(`/executions/${id}/events`)).body as Array<{ event_type: string }>).map((e) => e.event_type);

describe('saga deadlines', () => {
  it('a run whose sandbox never reports is ended by the saga deadline: pod stopped, slot released, execution timeout', async () => {
    const dir = await createTempDir('integr8s-deadline-');
    dirs.push(dir);
    const t = await startNode(dir.path);
    expect((await t.api('/admin/settings/', { method: 'PUT', json: { max_timeout_seconds: 1 } })).status).toBe(200);
    // The watcher's delete at the wall limit is refused: from then on nothing will ever report an outcome.
    cluster.server.failNext('DELETE', new RegExp(`^/api/v1/namespaces/${TEST_NAMESPACE}/pods/`), 500, 1);
    const id = await t.submit('import time\ntime.sleep(600)\n', 'python', '3.11');
    const pod = await waitFor(() => podOf(id), { timeoutMs: 15_000, message: 'the pod' });
    await waitFor(async () => (await t.api(`/executions/${id}/result`)).body.status === 'running', { timeoutMs: 15_000, message: 'running' });

    const result = await waitFor(async () => {
      const body = (await t.api(`/executions/${id}/result`)).body;
      return body.status === 'timeout' ? body : null;
    }, { timeoutMs: 30_000, message: 'the execution timed out' });
    expect(result).toMatchObject({ status: 'timeout', error_type: 'timeout' });
    const saga = (await t.api(`/sagas/execution/${id}`)).body;
    expect(saga).toMatchObject({ state: 'timeout', compensated_steps: ['stop_sandbox', 'release'] });
    expect(saga.error_message).toMatch(/^deadline .* passed with no outcome from the sandbox$/);
    // The sandbox's start + 1 s wall limit + 1 s grace.
    const created = ((await t.api(`/executions/${id}/events?event_types=pod_created`)).body as Array<{ sandbox: { startedAt: string } }>)[0]!;
    expect(Date.parse(saga.deadline_at) - Date.parse(created.sandbox.startedAt)).toBe(2_000);
    expect((await t.api('/admin/executions/queue')).body.active_count).toBe(0);
    // The watcher's delete at the wall limit was refused; the saga's compensation deleted the pod.
    expect(deletesOf(pod.metadata.name)).toBeGreaterThanOrEqual(2);
    await waitFor(() => podOf(id) === undefined, { message: 'the pod deleted' });
    const types = await eventTypes(t, id);
    expect(types).toContain('execution_timeout');
    expect(types).not.toContain('pod_terminated');
  }, 90_000);

  it('a saga continued by the next owner after its deadline passed times out at once and deletes the pod', async () => {
    const dir = await createTempDir('integr8s-deadline-restart-');
    dirs.push(dir);
    const first = await startNode(dir.path);
    expect((await first.api('/admin/settings/', { method: 'PUT', json: { max_timeout_seconds: 10 } })).status).toBe(200);
    const id = await first.submit('import time\ntime.sleep(600)\n', 'python', '3.11');
    await waitFor(async () => (await first.api(`/executions/${id}/result`)).body.status === 'running', { timeoutMs: 15_000, message: 'running' });
    const saga = await waitFor(async () => {
      const body = (await first.api(`/sagas/execution/${id}`)).body;
      return body.deadline_at ? body : null;
    }, { message: 'the deadline stored' });
    const pod = podOf(id)!;
    await first.stop();
    nodes.splice(nodes.indexOf(first), 1);
    // Pods outlive their node (the next owner re-attaches); this one is still running.
    expect(podOf(id)).toBeDefined();
    const deadline = Date.parse(saga.deadline_at);
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 500));

    const second = await startNode(dir.path);
    const result = await waitFor(async () => {
      const body = (await second.api(`/executions/${id}/result`)).body;
      return body.status === 'timeout' ? body : null;
    }, { timeoutMs: 30_000, message: 'timed out after the restart' });
    expect(result).toMatchObject({ status: 'timeout', error_type: 'timeout' });
    const ended = (await second.api(`/sagas/execution/${id}`)).body;
    expect(ended).toMatchObject({ state: 'timeout', deadline_at: saga.deadline_at });
    expect(ended.compensated_steps).toContain('stop_sandbox');
    await waitFor(() => podOf(id) === undefined, { message: 'the pod deleted' });
    expect(deletesOf(pod.metadata.name)).toBeGreaterThanOrEqual(1);
    // Not run again: one attempt, one pod.
    expect(((await second.api(`/executions/${id}/events?event_types=execution_scheduled`)).body as unknown[]).length).toBe(1);
    expect((await eventTypes(second, id)).filter((e) => e === 'pod_created')).toHaveLength(1);
    expect((await second.api('/admin/executions/queue')).body.active_count).toBe(0);
  }, 120_000);
});
