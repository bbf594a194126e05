/**
 * A node killed with SIGKILL while executions are queued and running: the survivors take its partitions and
 * every accepted execution still finishes, exactly once. A node that joins later takes partitions and runs work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import { CLUSTER_PARTITIONS, startCluster, type TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { expectExactlyOnce, submit, TERMINAL } from './checks.js';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, env: { MAX_CONCURRENT_EXECUTIONS: '3', SANDBOX_TIMEOUT_SECONDS: '30' } });
  await cluster.balanced(3);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('failover', () => {
  it('SIGKILL of a node with queued and running work: everything finishes once on the survivors', async () => {
    const [a, b, victim] = cluster.nodes as [typeof cluster.nodes[0], typeof cluster.nodes[0], typeof cluster.nodes[0]];
    const members = await cluster.members(a);
    const victimPartitions = new Set(members.find((m) => m.nodeId === victim.nodeId)!.partitions);
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) ids.push(await submit(cluster, cluster.nodes[i % 3]!, `import time\ntime.sleep(1)\nprint("run ${i}")`));
    const onVictim = ids.filter((id) => victimPartitions.has(partitionOf(id, CLUSTER_PARTITIONS)));
    expect(onVictim.length).toBeGreaterThan(0);

    /** What the cluster looks like now, for a failure message: unfinished executions with their events, queues, owners, logs. */
    const explain = async (err: unknown, via: typeof a, nodes: Array<typeof a>): Promise<Error> => {
      const all = await Promise.all(ids.map(async (id) => (await cluster.api(via, `/executions/${id}/result`)).body as { execution_id: string; status: string }));
      const stuck = await Promise.all(
        all
          .filter((r) => !TERMINAL.has(r.status))
          .map(async ({ execution_id: id, status }) => {
            const events = (await cluster.api(via, `/executions/${id}/events?limit=100`)).body as Array<{ event_type: string; timestamp: string }>;
            return `${id} p${partitionOf(id, CLUSTER_PARTITIONS)} ${status}: ${events.map((e) => `${e.event_type}@${e.timestamp.slice(11, 23)}`).join(' ')}`;
          }),
      );
      const queues = await Promise.all(nodes.map(async (n) => `${n.nodeId} queue ${JSON.stringify((await cluster.api(n, '/admin/executions/queue')).body)}`));
      const view = JSON.stringify((await cluster.api(via, '/admin/cluster/nodes')).body);
      const logs = cluster.nodes
        .map((n) => {
          const ownership = n.output.filter((l) => l.includes('partitions assigned') || l.includes('partitions revoked')).slice(-20);
          return `--- ${n.nodeId}\n${ownership.join('\n')}\n${n.output.filter((l) => !ownership.includes(l)).slice(-30).join('\n')}`;
        })
        .join('\n');
      return new Error(
        `${String(err)}\nunfinished:\n${stuck.join('\n')}\nvictim partitions: ${[...victimPartitions].join(',')}\n${queues.join('\n')}\ncluster view: ${view}\n${logs}`,
      );
    };

    // Wait until the victim is running something, then kill it mid-run.
    await waitFor(
      async () => {
        const statuses = await Promise.all(onVictim.map(async (id) => (await cluster.api(a, `/executions/${id}/result`)).body.status as string));
        if (statuses.every((s) => TERMINAL.has(s))) throw new Error('every execution of the victim finished before one was seen running');
        return statuses.includes('running');
      },
      { timeoutMs: 90_000, intervalMs: 100, message: 'an execution running on the victim' },
    ).catch(async (err: unknown) => {
      throw await explain(err, a, [a, b, victim]);
    });
    const killedAt = Date.now();
    await cluster.kill(victim);

    const survivors = await cluster.balanced(2, 90_000);
    expect(survivors.map((m) => m.nodeId).sort()).toEqual([a.nodeId, b.nodeId].sort());

    let firstResumedAt = 0;
    const results = await waitFor(
      async () => {
        const all = await Promise.all(ids.map(async (id) => (await cluster.api(b, `/executions/${id}/result`)).body));
        if (!firstResumedAt && onVictim.some((id) => TERMINAL.has(all[ids.indexOf(id)].status))) firstResumedAt = Date.now();
        return all.every((r) => TERMINAL.has(r.status)) ? all : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'every accepted execution to finish' },
    ).catch(async (err: unknown) => {
      throw await explain(err, b, [a, b]);
    });
    for (const r of results.filter((x) => x.status !== 'completed')) {
      const events = (await cluster.api(b, `/executions/${r.execution_id}/events?limit=1000`)).body as Array<Record<string, unknown>>;
      const logs = cluster.nodes.map((n) => `--- ${n.nodeId}\n${n.output.filter((l) => l.includes(r.execution_id)).slice(-20).join('\n')}`).join('\n');
      throw new Error(`${r.execution_id} ended ${r.status}:\n${events.map((e) => JSON.stringify(e).slice(0, 400)).join('\n')}\n${logs}`);
    }
    results.forEach((r, i) => {
      expect(r.status, `${ids[i]} ${JSON.stringify(r).slice(0, 600)}`).toBe('completed');
      expect(r.stdout).toBe(`run ${i}\n`);
    });
    await expectExactlyOnce(cluster, ids);
    console.log(`failover: first execution of the killed node finished on a survivor ${firstResumedAt - killedAt} ms after SIGKILL`);
  }, 360_000);

  it('a joining node receives partitions and runs work', async () => {
    const joined = await cluster.addNode();
    const members = await cluster.balanced(3, 90_000);
    const mine = new Set(members.find((m) => m.nodeId === joined.nodeId)!.partitions);
    expect(mine.size).toBeGreaterThan(0);
    let id = '';
    for (let i = 0; i < 60 && !id; i++) {
      const candidate = await submit(cluster, joined, `print("joined ${i}")`);
      if (mine.has(partitionOf(candidate, CLUSTER_PARTITIONS))) id = candidate;
    }
    expect(id).not.toBe('');
    const result = await waitFor(
      async () => {
        const r = (await cluster.api(joined, `/executions/${id}/result`)).body;
        return TERMINAL.has(r.status) ? r : null;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'the joined node to run its execution' },
    );
    expect(result.status).toBe('completed');
  }, 240_000);
});
