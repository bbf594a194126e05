import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisSemaphore } from '../../bridges/redis/concurrency-semaphore.js';
import type { ConcurrencySemaphore } from '../../system/ports/concurrency-semaphore.js';
import { redisUrl } from '../../test/support/infra.js';
import { waitFor } from '../../test/support/wait.js';
import { counting, leaseEnd, startNode, stopNodes, takeTurns, twoNodeRun } from './admission.fixture.js';

const clients: ConcurrencySemaphore[] = [];
afterEach(async () => {
  stopNodes();
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** Three clients of one Redis semaphore under a key prefix of its own: one per node and a probe. */
async function redisSemaphores() {
  const url = await redisUrl();
  const keyPrefix = `test:admission:${randomUUID()}:`;
  const make = (name: string) => {
    const sem = createRedisSemaphore({ url, keyPrefix, name });
    clients.push(sem);
    return sem;
  };
  return { semA: make('node-a'), semB: make('node-b'), probe: make('probe') };
}

describe('admission over a shared semaphore (Redis)', () => {
  it('two nodes, capacity 3, ten executions each: never more than 3 running, all granted, priority order per node', async () => {
    const result = await twoNodeRun(await redisSemaphores());
    expect(result.maxRunning).toBeLessThanOrEqual(3);
    expect(result.maxActiveSnapshots).toBeLessThanOrEqual(3);
  });

  it('nodes take turns: a slot freed by a node with more queued goes to the other node that asked first', async () => {
    const { semA, semB } = await redisSemaphores();
    expect(await takeTurns(semA, semB)).toEqual(['a1', 'b1', 'a2', 'a3', 'a4']);
  });

  it('frees the slot of a node that died holding it after its lease, for a waiter on the other node', async () => {
    const { semA: redisA, semB } = await redisSemaphores();
    const semA = counting(redisA);
    const leaseMs = 300;
    const a = startNode(1, { semaphore: semA, leaseMs, renewEveryMs: 100, retryMs: 20 });
    const b = startNode(1, { semaphore: semB, leaseMs, renewEveryMs: 100, retryMs: 20 });
    a.acquire('a1', 'normal');
    await waitFor(() => a.granted.length === 1);
    b.acquire('b1', 'high');
    await waitFor(async () => (await b.client.snapshot()).queue_depth === 1);
    a.stop();
    const stoppedAt = Date.now();
    await waitFor(() => b.granted.length === 1, { timeoutMs: 10 * leaseMs });
    // Not renewed after the stop, and b got the slot only once a1's last lease had run out.
    const end = leaseEnd(semA, 'a1', leaseMs);
    expect(end - leaseMs).toBeLessThanOrEqual(stoppedAt);
    expect(b.grantedAt[0]!).toBeGreaterThanOrEqual(end);
    expect(semA.releases).toEqual([]);
    expect(b.errors).toEqual([]);
  });
});
