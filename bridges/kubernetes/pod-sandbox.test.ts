/**
 * The Kubernetes backend against the test API server with no kubelet: each test plays the kubelet by hand
 * (pod phases, container statuses such as OOMKilled, log frames), to cover what a local process cannot show.
 */
import type { V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../system/domain/limits.js';
import { partitionOf } from '../../system/domain/partition.js';
import { SandboxFault, type OutputChunk, type SandboxHandle } from '../../system/ports/sandbox.js';
import { waitFor } from '../../test/support/wait.js';
import { encodeFrame, FRAME_KEY_ENV, type ExitReport } from './frames.js';
import { startTestCluster, TEST_NAMESPACE as NS, type TestCluster } from './kube.fixture.js';
import { EXECUTOR, LABELS, MANAGED_BY } from './labels.js';
import type { KubernetesSandbox } from './pod-sandbox.js';
import { DENY_ALL_POLICY } from './pod-spec.js';

const REPORT: ExitReport = { v: 1, exit_code: 0, signal: null, cpu_ms: 40, peak_memory_kb: 8000, wall_ms: 120, oom_kills: 0, wall_timed_out: false, stdout_truncated: false, stderr_truncated: false, error: null };

let cluster: TestCluster;
let sb: KubernetesSandbox;
let n = 0;

beforeEach(async () => {
  cluster = await startTestCluster('none');
  sb = await cluster.sandbox({ startTimeoutMs: 5_000 });
});
afterEach(async () => cluster.close());

/** Starts a run and waits for its pod; `started` settles once the test has made the pod run (or fail). */
const launch = async (over: { executionId?: string; userId?: string } = {}, on = sb) => {
  const before = new Set(cluster.server.list('pods', NS).map((p) => p.metadata.name));
  const executionId = over.executionId ?? `exec-${++n}`;
  const started = on.start({ executionId, lang: 'python', langVersion: '3.11', script: 'print("hi")', limits: resolveLimits({ cpuMs: 2000 }), userId: over.userId ?? 'u1' });
  started.catch(() => {});
  const name = await waitFor(() => cluster.server.list('pods', NS).map((p) => p.metadata.name).find((x) => !before.has(x)), { message: 'pod created' });
  const h: SandboxHandle = { backend: 'kubernetes', id: name, executionId, startedAt: '' };
  return { h, started };
};
/** Starts a run and makes its pod run, as the kubelet would; resolves with the handle start() returned. */
const start = async (over: { executionId?: string; userId?: string } = {}): Promise<SandboxHandle> => {
  const { h, started } = await launch(over);
  running(h);
  return started;
};
const podOf = (h: SandboxHandle) => cluster.server.get('pods', NS, h.id) as unknown as V1Pod | undefined;
const keyOf = (h: SandboxHandle) => podOf(h)!.spec!.containers[0]!.env!.find((e) => e.name === FRAME_KEY_ENV)!.value!;
const container = (state: V1ContainerStatus['state']): V1ContainerStatus[] => [{ name: 'run', image: 'i', imageID: '', ready: true, restartCount: 0, state }];
const setStatus = (h: SandboxHandle, s: V1PodStatus) => cluster.server.setPodStatus(NS, h.id, s);
const running = (h: SandboxHandle) => setStatus(h, { phase: 'Running', containerStatuses: container({ running: { startedAt: new Date() } }) });
const ended = (h: SandboxHandle, phase: 'Succeeded' | 'Failed', exitCode: number, reason = 'Completed', extra: Partial<V1PodStatus> = {}) =>
  setStatus(h, { phase, ...extra, containerStatuses: container({ terminated: { exitCode, reason, startedAt: new Date(Date.now() - 500), finishedAt: new Date() } }) });
/** Writes frames to the pod's log as the wrapper would, numbering from `from`. */
const frames = (h: SandboxHandle, from: number, ...parts: Array<['o' | 'e' | 'x', string]>) =>
  cluster.server.appendLog(NS, h.id, parts.map(([t, p], i) => encodeFrame(keyOf(h), from + i, t, p)).join(''));
const gone = (h: SandboxHandle) => waitFor(() => !podOf(h) && !cluster.server.get('configmaps', NS, h.id), { message: 'pod and configmap deleted' });

describe('Kubernetes backend: what it creates', () => {
  it('creates the script ConfigMap owned by its pod, and a labelled pod', async () => {
    const h = await start({ executionId: 'exec-labels', userId: 'alice' });
    const pod = podOf(h)!;
    const cm = cluster.server.get('configmaps', NS, h.id)!;
    expect(cm.data).toEqual({ 'main.py': 'print("hi")' });
    await waitFor(() => (cluster.server.get('configmaps', NS, h.id)!.metadata.ownerReferences as unknown[] | undefined)?.length === 1, { message: 'owner reference' });
    expect(cluster.server.get('configmaps', NS, h.id)!.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Pod', name: h.id, uid: pod.metadata!.uid })]);
    expect(pod.metadata!.labels).toMatchObject({ [LABELS.execution]: 'exec-labels', [LABELS.user]: 'alice', [LABELS.language]: 'python', [LABELS.partition]: String(partitionOf('exec-labels', 4)) });
    expect(pod.spec!.containers[0]!.image).toBe('registry.test/integr8s-runtime-python:3.11');
  });

  it('hardens the namespace at start: deny-all NetworkPolicy and restricted Pod Security labels', async () => {
    const policy = cluster.server.get('networkpolicies', NS, DENY_ALL_POLICY)!;
    expect(policy.spec).toEqual({ podSelector: { matchLabels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: EXECUTOR } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
    expect(cluster.server.get('namespaces', '', NS)!.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' });
    // a second node applies the same policy again (replace, not a conflict)
    await cluster.sandbox();
    expect(cluster.server.list('networkpolicies', NS)).toHaveLength(1);
  });

  it('fails to start, naming the step, when the cluster refuses the hardening (missing RBAC rights)', async () => {
    cluster.server.failNext('POST', /networkpolicies$/, 403);
    await expect(cluster.sandbox()).rejects.toThrow(/NetworkPolicy/);
    cluster.server.failNext('PATCH', /namespaces\/executors$/, 403);
    await expect(cluster.sandbox()).rejects.toBeInstanceOf(SandboxFault);
    expect(await cluster.sandbox({ hardenNamespace: false })).toBeTruthy();
  });

  it('a pod the API refuses is a SandboxFault, and its ConfigMap is removed', async () => {
    cluster.server.failNext('POST', /\/pods$/, 500);
    await expect(sb.start({ executionId: 'refused', lang: 'python', langVersion: '3.11', script: 'print(1)', limits: resolveLimits() })).rejects.toBeInstanceOf(SandboxFault);
    expect(cluster.server.list('configmaps', NS)).toEqual([]);
  });
});

describe('Kubernetes backend: pod phases to outcomes', () => {
  it('start() returns once the container runs, not when the pod is created (scheduling and pulls are not wall time)', async () => {
    const { h, started } = await launch();
    let returned = false;
    void started.then(() => (returned = true));
    setStatus(h, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: container({ waiting: { reason: 'ContainerCreating' } }) });
    await new Promise((r) => setTimeout(r, 300));
    expect(returned).toBe(false);
    running(h);
    expect((await started).id).toBe(h.id);
  });

  it('a run that succeeds: live output, outcome from the exit report, pod and ConfigMap deleted', async () => {
    const h = await start();
    const chunks: OutputChunk[] = [];
    const outcome = sb.watch(h, (c) => chunks.push(c));
    running(h);
    frames(h, 0, ['o', 'hi\n'], ['e', 'warn\n']);
    await waitFor(() => chunks.length === 2, { message: 'live output' });
    frames(h, 2, ['x', JSON.stringify(REPORT)]);
    ended(h, 'Succeeded', 0);
    expect(await outcome).toMatchObject({ exitCode: 0, stdout: 'hi\n', stderr: 'warn\n', limit: null, stopped: false, usage: { cpu_time_jiffies: 4, peak_memory_kb: 8000 } });
    expect(chunks).toEqual([{ stream: 'stdout', text: 'hi\n' }, { stream: 'stderr', text: 'warn\n' }]);
    await gone(h);
  });

  it('a program that fails is the user outcome, not a fault', async () => {
    const h = await start();
    const outcome = sb.watch(h);
    running(h);
    frames(h, 0, ['e', 'Traceback\n'], ['x', JSON.stringify({ ...REPORT, exit_code: 1 })]);
    ended(h, 'Succeeded', 0);
    expect(await outcome).toMatchObject({ exitCode: 1, stderr: 'Traceback\n', limit: null });
  });

  it('reads the log after the end when the pod ended before it was seen running', async () => {
    const { h, started } = await launch();
    // Running and Succeeded land in one go: the log is read once, complete
    cluster.server.setPodStatus(NS, h.id, { phase: 'Running', containerStatuses: container({ running: {} }) });
    frames(h, 0, ['o', 'quick\n'], ['x', JSON.stringify(REPORT)]);
    ended(h, 'Succeeded', 0);
    expect((await sb.watch(await started)).stdout).toBe('quick\n');
  });

  it('OOMKilled ends with the memory limit and keeps the output so far', async () => {
    const h = await start();
    const outcome = sb.watch(h);
    running(h);
    frames(h, 0, ['o', 'allocating\n']);
    await waitFor(() => cluster.server.requests.some((r) => r.includes(`${h.id}/log`)), { message: 'log followed' });
    ended(h, 'Failed', 137, 'OOMKilled');
    expect(await outcome).toMatchObject({ limit: 'memory', exitCode: null, signal: 'SIGKILL', stdout: 'allocating\n', stopped: false });
    await gone(h);
  });

  it('Evicted ends with the memory limit; DeadlineExceeded with the wall-time limit', async () => {
    const a = await start();
    const evicted = sb.watch(a);
    running(a);
    ended(a, 'Failed', 137, 'Error', { reason: 'Evicted', message: 'The node was low on resource: memory.' });
    expect(await evicted).toMatchObject({ limit: 'memory', stopped: false });
    const b = await start();
    const late = sb.watch(b);
    running(b);
    setStatus(b, { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' });
    expect(await late).toMatchObject({ limit: 'wall_time', stopped: false, signal: 'SIGKILL' });
  });

  it('image pull errors are our fault: a SandboxFault, and the pod is removed', async () => {
    const { h, started } = await launch();
    setStatus(h, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: container({ waiting: { reason: 'ContainerCreating' } }) });
    setStatus(h, { phase: 'Pending', containerStatuses: [{ name: 'run', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] });
    await expect(started).rejects.toThrow(/ImagePullBackOff/);
    await expect(started).rejects.toBeInstanceOf(SandboxFault);
    await gone(h);
  });

  it('a pod that never starts is a SandboxFault after the start timeout', async () => {
    const quick = await cluster.sandbox({ startTimeoutMs: 300 });
    const { h, started } = await launch({}, quick);
    await expect(started).rejects.toThrow(/did not start within 300 ms/);
    await gone(h);
  });

  it('cancel: stop() deletes the pod and the outcome says stopped', async () => {
    const h = await start();
    const outcome = sb.watch(h);
    running(h);
    frames(h, 0, ['o', 'working\n']);
    await waitFor(() => cluster.server.requests.some((r) => r.includes(`${h.id}/log`)), { message: 'log followed' });
    await sb.stop(h);
    expect(await outcome).toMatchObject({ stopped: true, limit: null, exitCode: null });
    expect(cluster.server.requests).toContain(`DELETE /api/v1/namespaces/${NS}/pods/${h.id}?gracePeriodSeconds=0&propagationPolicy=Background`);
    await gone(h);
  });

  it('a pod deleted by someone else is a SandboxFault', async () => {
    const h = await start();
    const outcome = sb.watch(h);
    running(h);
    await cluster.api.deletePod(h.id);
    await expect(outcome).rejects.toThrow(/deleted before it ended/);
  });

  it('a dropped log stream is followed again without doubled or missed output', async () => {
    const h = await start();
    const chunks: OutputChunk[] = [];
    const outcome = sb.watch(h, (c) => chunks.push(c));
    running(h);
    frames(h, 0, ['o', 'one\n']);
    await waitFor(() => chunks.length === 1, { message: 'first chunk' });
    cluster.server.dropLogStreams();
    frames(h, 1, ['o', 'two\n']);
    await waitFor(() => chunks.length === 2, { message: 'second chunk after reconnect' });
    cluster.server.dropLogStreams();
    frames(h, 2, ['o', 'three\n'], ['x', JSON.stringify(REPORT)]);
    ended(h, 'Succeeded', 0);
    const o = await outcome;
    expect(o.stdout).toBe('one\ntwo\nthree\n');
    expect(chunks.map((c) => c.text).join('')).toBe(o.stdout);
    expect(cluster.server.requests.filter((r) => r.includes(`${h.id}/log`)).length).toBeGreaterThanOrEqual(3);
  });

  it('a log with a gap is a SandboxFault, not a wrong result', async () => {
    const h = await start();
    const outcome = sb.watch(h);
    running(h);
    frames(h, 0, ['o', 'one\n']);
    frames(h, 5, ['x', JSON.stringify(REPORT)]);
    ended(h, 'Succeeded', 0);
    await expect(outcome).rejects.toThrow(/missing/);
  });
});

describe('Kubernetes backend: nodes and partitions', () => {
  it('a node taking over a partition re-attaches to the running pod and gets all of its output', async () => {
    const h = await start({ executionId: 'takeover' });
    running(h);
    frames(h, 0, ['o', 'before\n']);
    await waitFor(() => cluster.server.requests.some((r) => r.includes(`${h.id}/log`)), { message: 'first node follows' });
    sb.informer.stop(); // the first node is gone: it sees nothing any more
    const next = await cluster.sandbox();
    next.scope([partitionOf('takeover', 4)]);
    const copy = JSON.parse(JSON.stringify(h)) as SandboxHandle;
    expect(await next.reattach(copy)).toEqual(copy);
    const outcome = next.watch(copy);
    frames(h, 1, ['o', 'after\n'], ['x', JSON.stringify(REPORT)]);
    ended(h, 'Succeeded', 0);
    expect(await outcome).toMatchObject({ stdout: 'before\nafter\n', exitCode: 0 });
    await gone(h);
    expect(await next.reattach(copy)).toEqual(copy); // still known for a while after it ended
    expect(await (await cluster.sandbox()).reattach(copy)).toBeNull(); // gone from the cluster
  });

  it('giving a partition up lets go of its runs without deleting their pods, for the new owner to re-attach', async () => {
    const h = await start({ executionId: 'moving' });
    const outcome = sb.watch(h);
    const partition = partitionOf('moving', 4);
    sb.scope([0, 1, 2, 3].filter((p) => p !== partition));
    // the old watcher hears nothing (its actors stop with the partition), and nothing is deleted
    expect(await Promise.race([outcome.then(() => 'settled', () => 'settled'), new Promise((r) => setTimeout(() => r('pending'), 300))])).toBe('pending');
    expect(podOf(h)).toBeDefined();
    expect(cluster.server.get('configmaps', NS, h.id)).toBeDefined();
    const next = await cluster.sandbox();
    next.scope([partition]);
    expect(await next.reattach(h)).toEqual(h);
    const moved = next.watch(h);
    frames(h, 0, ['o', 'done\n'], ['x', JSON.stringify(REPORT)]);
    ended(h, 'Succeeded', 0);
    expect((await moved).stdout).toBe('done\n');
  });

  it('re-attaches only to a pod of the same execution', async () => {
    const h = await start({ executionId: 'mine' });
    const other = await cluster.sandbox();
    expect(await other.reattach({ ...h, executionId: 'someone-else' })).toBeNull();
    expect(await other.reattach({ ...h, backend: 'bwrap' })).toBeNull();
  });

  it('scope() narrows the informer to owned partitions; no partitions means no watch', async () => {
    sb.scope([1, 2]);
    await waitFor(() => cluster.server.requests.some((r) => decodeURIComponent(r.replace(/\+/g, ' ')).includes(`${LABELS.partition} in (1,2)`)), { message: 'scoped list' });
    sb.scope([]);
    await waitFor(() => cluster.server.openWatches === 0, { message: 'no watch' });
    expect((await sb.ready()).detail).toContain('partitions none');
    sb.scope(null);
    await waitFor(() => cluster.server.openWatches === 1, { message: 'watching all again' });
  });

  it('the sweep deletes orphans: ended pods nobody tracks, pods of finished executions, ConfigMaps without pods', async () => {
    const labels = (id: string) => ({ [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: EXECUTOR, [LABELS.execution]: id, [LABELS.partition]: '0' });
    const make = async (name: string, id: string, phase?: string) => {
      await cluster.api.createPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: labels(id) }, spec: { containers: [{ name: 'run', image: 'x' }] } });
      if (phase) cluster.server.setPodStatus(NS, name, { phase });
    };
    await make('ended-unknown', 'e1', 'Succeeded');
    await make('running-finished', 'e2', 'Running');
    await make('running-live', 'e3', 'Running');
    await cluster.api.createConfigMap({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'lonely', labels: labels('e4') }, data: {} });
    const tracked = await start({ executionId: 'e5' });
    const sweeper = await cluster.sandbox({ orphanGraceMs: 0, sweepEveryMs: 0, executionLive: async (id) => id === 'e3' });
    const young = await cluster.sandbox({ orphanGraceMs: 60_000, sweepEveryMs: 0, executionLive: async () => false });
    expect(await young.sweep()).toEqual({ pods: [], configMaps: [] });
    const swept = await sweeper.sweep();
    expect(swept.pods.sort()).toEqual(['ended-unknown', 'running-finished', tracked.id].sort());
    expect(swept.configMaps).toContain('lonely');
    expect(cluster.server.list('pods', NS).map((p) => p.metadata.name)).toEqual(['running-live']);
    // the tracked run's own node saw its pod go and removed the ConfigMap, if the sweep did not
    await waitFor(() => cluster.server.list('configmaps', NS).length === 0, { message: 'no ConfigMaps left' });
    // the node that runs a pod never sweeps it
    const own = await start({ executionId: 'e6' });
    const mine = await sb.sweep();
    expect(mine.pods).not.toContain(own.id);
  });
});
