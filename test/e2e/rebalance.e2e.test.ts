/**
 * A partition taken away from a node and given back, on one real embedded node: revoking it stops its actors with
 * everything below them (the running sandbox, the admission slot), and assigning it again recovers the execution,
 * which then runs to completion as a new attempt. Before stopTree, the saga and its watcher outlived the revocation
 * (nact does not stop descendants), holding the slot forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ MAX_CONCURRENT_EXECUTIONS: '1', EVENT_PARTITIONS: '4' });
});
afterAll(async () => t?.stop());

const status = async (id: string) => (await t.api(`/executions/${id}/result`)).body as { status: string; stdout: string };

describe('revoking and re-assigning a partition', () => {
  for (const pauseMs of [0, 2_500]) {
    it(`releases the slot and stops the run on revoke; re-assigned ${pauseMs} ms later, the execution completes once`, async () => {
      const id = await t.submit('import time\nprint("start", flush=True)\ntime.sleep(2)\nprint("end")');
      const partition = partitionOf(id, 4);
      await waitFor(async () => (await status(id)).status === 'running', { timeoutMs: 20_000, message: 'the run to start' });
      expect((await t.node.queue()).active_count).toBe(1);

      t.node.router.revoked([partition]);
      await waitFor(async () => (await t.node.queue()).active_count === 0, { timeoutMs: 5_000, message: 'the slot to be released' });
      await new Promise((r) => setTimeout(r, pauseMs));
      expect((await status(id)).status).toBe('running');

      expect(await t.node.router.assigned([partition])).toBe(1);
      const done = await waitFor(
        async () => {
          const r = await status(id);
          return ['completed', 'failed', 'error', 'timeout', 'cancelled'].includes(r.status) ? r : null;
        },
        { timeoutMs: 30_000, message: 'the recovered execution to finish' },
      );
      expect(done.status).toBe('completed');
      expect(done.stdout).toBe('start\nend\n');
      const events = (await t.api(`/executions/${id}/events?limit=100`)).body as Array<{ event_type: string }>;
      expect(events.filter((e) => e.event_type === 'execution_completed')).toHaveLength(1);
      expect(events.filter((e) => e.event_type === 'execution_failed')).toHaveLength(0);
    }, 90_000);
  }
});
