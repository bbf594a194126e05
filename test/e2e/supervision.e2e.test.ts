import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Collection, Doc, DocumentStore } from '../../system/ports/document-store.js';
import { startTestNode, type TestNode } from '../support/node-harness.js';
import { waitFor } from '../support/wait.js';

/** Wraps the store so that updates of executions whose script contains a marker fail. */
function faultyStore(real: DocumentStore, budget: Map<string, number>): DocumentStore {
  return {
    ping: () => real.ping(),
    close: () => real.close(),
    collection<T extends Doc>(name: string, options?: Parameters<DocumentStore['collection']>[1]): Collection<T> {
      const c = real.collection<T>(name, options);
      if (name !== 'executions') return c;
      return {
        insert: (d) => c.insert(d),
        get: (id) => c.get(id),
        put: (d) => c.put(d),
        delete: (id) => c.delete(id),
        find: (f, o) => c.find(f, o),
        count: (f) => c.count(f),
        increment: (id, field, by) => c.increment(id, field, by),
        update: async (id, patch) => {
          const doc = (await c.get(id)) as unknown as { script?: string } | null;
          for (const [marker, left] of budget) {
            if (doc?.script?.includes(marker) && left > 0) {
              budget.set(marker, left - 1);
              throw new Error(`disk on fire (${marker})`);
            }
          }
          return c.update(id, patch);
        },
      };
    },
  };
}

const budget = new Map<string, number>();
let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({}, { decorateStore: (s) => faultyStore(s, budget) });
});
afterAll(async () => t?.stop());

describe('supervision of execution actors', () => {
  it('a transient store fault crashes one execution actor, which restarts and finishes; others are undisturbed', async () => {
    budget.set('TRANSIENT', 2);
    const flaky = await t.submit('print("TRANSIENT")');
    const others = await Promise.all([1, 2, 3].map((i) => t.submit(`print(${i})`)));
    for (const id of [flaky, ...others]) await t.stream(id);
    expect((await t.api(`/executions/${flaky}/result`)).body).toMatchObject({ status: 'completed', stdout: 'TRANSIENT\n' });
    for (const [i, id] of others.entries()) expect((await t.api(`/executions/${id}/result`)).body).toMatchObject({ status: 'completed', stdout: `${i + 1}\n` });
    expect(budget.get('TRANSIENT')).toBe(0);
    const restarts = t.node.crashes.latest().filter((c) => c.error.includes('TRANSIENT'));
    expect(restarts.map((c) => c.decision)).toEqual(['restart', 'restart']);
  });

  it('an execution whose store writes always fail is given up on (escalated) without harming the node', async () => {
    budget.set('ALWAYS', 1_000);
    const doomed = await t.submit('print("ALWAYS")');
    await waitFor(() => t.node.crashes.latest().some((c) => c.error.includes('ALWAYS') && c.decision === 'escalate'), {
      timeoutMs: 20_000,
      message: 'escalation past the restart budget',
    });
    // Its stream still ends: result_failed says the result could not be stored.
    const frames = (await t.stream(doomed, {}, 20_000)).map((m) => JSON.parse(m.data));
    expect(frames.at(-1)).toMatchObject({ event_type: 'result_failed', status: 'error' });
    const fine = await t.run('print("fine")');
    expect(fine).toMatchObject({ status: 'completed', stdout: 'fine\n' });
    expect((await t.api('/health/ready')).status).toBe(200);
    expect((await t.api(`/executions/${doomed}/result`)).body.status).toBe('queued');
    await waitFor(async () => (await t.node.queue()).active_count === 0, { message: 'no leaked slot' });
  });
});
