import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../../test/support/kube-api-server.js';
import { waitFor } from '../../test/support/wait.js';
import { PodInformer, type PodChange } from './informer.js';
import { clientNodeApi, type KubeApi } from './kube-api.js';
import { executorSelector, EXECUTOR, LABELS, MANAGED_BY } from './labels.js';

const NS = 'executors';
const pod = (name: string, partition: number): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: EXECUTOR, [LABELS.partition]: String(partition) } },
  spec: { containers: [{ name: 'run', image: 'x' }] },
});

describe('PodInformer on the test API server', () => {
  let server: KubeApiServer;
  let api: KubeApi;
  let informer: PodInformer;
  let changes: string[];

  beforeEach(async () => {
    server = await new KubeApiServer([NS]).start();
    api = clientNodeApi(server.kubeConfig(NS), NS);
    changes = [];
    const record = (c: PodChange) => changes.push(`${c.type} ${c.pod.metadata?.name} ${c.type === 'upsert' ? (c.pod.status?.phase ?? '-') : ''}`.trim());
    informer = new PodInformer(api, record, { retryMs: 20 });
  });
  afterEach(async () => {
    informer.stop();
    await server.close();
  });

  const phase = (name: string, p: string) => server.setPodStatus(NS, name, { phase: p });
  const settle = async (expected: number) => waitFor(() => changes.length >= expected, { message: `${expected} changes (have ${JSON.stringify(changes)})` });

  it('lists what exists, then reports each change once', async () => {
    await api.createPod(pod('a', 1));
    informer.setSelector(executorSelector(null));
    await informer.synced();
    expect(changes).toEqual(['upsert a Pending']);
    await waitFor(() => server.openWatches === 1, { message: 'watch open' });
    await api.createPod(pod('b', 1));
    phase('b', 'Running');
    await api.deletePod('a');
    await settle(4);
    expect(changes).toEqual(['upsert a Pending', 'upsert b Pending', 'upsert b Running', 'deleted a']);
    expect(informer.lists).toBe(1);
    expect(server.requests.filter((r) => r.includes('watch=true'))[0]).toMatch(/resourceVersion=\d+/);
  });

  it('resumes a dropped watch from the last resourceVersion: nothing missed, nothing doubled', async () => {
    await api.createPod(pod('a', 1));
    informer.setSelector(executorSelector(null));
    await informer.synced();
    await waitFor(() => server.openWatches === 1, { message: 'watch open' });
    for (let round = 0; round < 3; round++) {
      server.dropWatches();
      // changes while no watch is open are replayed from the history to the resumed watch
      phase('a', `Round${round}`);
      await api.createPod(pod(`p${round}`, 2));
      await waitFor(() => server.openWatches === 1, { message: 'watch resumed' });
    }
    await settle(7);
    await new Promise((r) => setTimeout(r, 100));
    expect(changes).toEqual(['upsert a Pending', 'upsert a Round0', 'upsert p0 Pending', 'upsert a Round1', 'upsert p1 Pending', 'upsert a Round2', 'upsert p2 Pending']);
    expect(informer.lists).toBe(1);
  });

  it('recovers from 410 Gone by listing again, reporting only what changed', async () => {
    await api.createPod(pod('keep', 1));
    await api.createPod(pod('gone', 1));
    informer.setSelector(executorSelector(null));
    await informer.synced();
    await waitFor(() => server.openWatches === 1, { message: 'watch open' });
    server.dropWatches();
    await api.createPod(pod('new', 1));
    await api.deletePod('gone');
    server.compact(); // the resumed watch's resourceVersion is now too old
    await waitFor(() => informer.lists === 2, { message: 'a second list after 410' });
    await settle(4);
    await new Promise((r) => setTimeout(r, 100));
    expect(changes.slice(2).sort()).toEqual(['deleted gone', 'upsert new Pending']);
    expect(changes.filter((c) => c.includes('keep'))).toHaveLength(1);
    expect(server.requests.some((r) => r.includes('watch=true'))).toBe(true);
    await waitFor(() => server.openWatches === 1, { message: 'watching again' });
    phase('keep', 'Running');
    await settle(5);
    expect(changes.at(-1)).toBe('upsert keep Running');
  });

  it('re-scopes to the owned partitions: pods leaving the scope are reported gone, new ones in scope appear', async () => {
    await api.createPod(pod('p1', 1));
    await api.createPod(pod('p2', 2));
    informer.setSelector(executorSelector([1]));
    await informer.synced();
    expect(changes).toEqual(['upsert p1 Pending']);
    await waitFor(() => server.openWatches === 1, { message: 'watch open' });
    phase('p2', 'Running'); // out of scope
    phase('p1', 'Running');
    await settle(2);
    informer.setSelector(executorSelector([2]));
    await settle(4);
    expect(changes).toEqual(['upsert p1 Pending', 'upsert p1 Running', 'upsert p2 Running', 'deleted p1']);
    const lastList = server.requests.filter((r) => r.startsWith('GET') && !r.includes('watch=true')).at(-1) ?? '';
    expect(decodeURIComponent(lastList.replace(/\+/g, ' '))).toContain(`${LABELS.partition} in (2)`);
    informer.setSelector(null);
    await settle(5);
    expect(changes.at(-1)).toBe('deleted p2');
  });

  it('retries a list the server refuses', async () => {
    server.failNext('GET', /\/pods$/, 503, 2);
    informer.setSelector(executorSelector(null));
    await informer.synced();
    expect(informer.lists).toBe(1);
  });
});
