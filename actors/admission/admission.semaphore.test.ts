import { dispatch } from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemorySemaphore } from '../../system/embedded/concurrency-semaphore.js';
import { delay, gate, waitFor } from '../../test/support/wait.js';
import { stopAdmission } from './admission.actor.js';
import { counting, leaseEnd, startNode, stopNodes, takeTurns, twoNodeRun } from './admission.fixture.js';

afterEach(() => stopNodes());

const LEASE_MS = 300;
const RENEW_MS = 100;
const RETRY_MS = 20;

describe('admission over a shared semaphore (in memory)', () => {
  it('two nodes, capacity 3, ten executions each: never more than 3 running, all granted, priority order per node', async () => {
    const sem = createMemorySemaphore();
    const result = await twoNodeRun({ semA: sem, semB: sem, probe: sem });
    expect(result.maxRunning).toBeLessThanOrEqual(3);
    expect(result.maxActiveSnapshots).toBeLessThanOrEqual(3);
  });

  it('nodes take turns: a slot freed by a node with more queued goes to the other node that asked first', async () => {
    const sem = createMemorySemaphore();
    expect(await takeTurns(sem, sem)).toEqual(['a1', 'b1', 'a2', 'a3', 'a4']);
  });

  it('renews the leases of running executions, so another node never takes their slot', async () => {
    const sem = counting(createMemorySemaphore());
    const a = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, retryMs: RETRY_MS });
    const b = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, retryMs: RETRY_MS });
    a.acquire('a1', 'normal');
    await waitFor(() => a.granted.length === 1);
    b.acquire('b1', 'critical');
    // Three leases long: without renewals the slot would have come free twice over (proving an absence takes a wait).
    await delay(3 * LEASE_MS);
    expect(b.granted).toEqual([]);
    expect(sem.renews.filter((r) => r.holders.includes('a1')).length).toBeGreaterThanOrEqual(5);

    a.release('a1');
    await waitFor(() => b.granted.length === 1);
    expect(sem.releases).toEqual(['a1']);
    await waitFor(() => sem.renews.some((r) => r.holders.includes('b1')));
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
  });

  for (const how of ['its admission actor is stopped', 'its whole actor system is stopped'] as const) {
    it(`frees the slot of a dead node after its lease when ${how}, and a waiter elsewhere gets it`, async () => {
      const sem = counting(createMemorySemaphore());
      const a = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, retryMs: RETRY_MS });
      const b = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, retryMs: RETRY_MS });
      a.acquire('a1', 'normal');
      await waitFor(() => a.granted.length === 1);
      b.acquire('b1', 'normal');
      await waitFor(() => sem.acquires.some((c) => c.holder === 'b1' && c.result === false));

      // Dead without releasing.
      if (how === 'its admission actor is stopped') stopAdmission(a.admission);
      else a.stop();
      const stoppedAt = Date.now();
      await waitFor(() => b.granted.length === 1, { timeoutMs: 10 * LEASE_MS });
      // Not renewed after the stop, and b got the slot only once a1's last lease had run out.
      const end = leaseEnd(sem, 'a1', LEASE_MS);
      expect(end - LEASE_MS).toBeLessThanOrEqual(stoppedAt);
      expect(b.grantedAt[0]!).toBeGreaterThanOrEqual(end);
      expect(sem.releases).not.toContain('a1');
    });
  }

  it('a slot taken by a holder nobody renews comes back after its lease and a waiting node gets it', async () => {
    const sem = createMemorySemaphore();
    const leaseStart = Date.now();
    expect(await sem.acquire('ghost', 1, LEASE_MS, leaseStart)).toBe(true);
    const b = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, retryMs: RETRY_MS });
    b.acquire('b1', 'normal');
    await waitFor(() => b.granted.length === 1, { timeoutMs: 10 * LEASE_MS });
    expect(b.grantedAt[0]!).toBeGreaterThanOrEqual(leaseStart + LEASE_MS);
    expect(b.errors).toEqual([]);
  });

  it('reports a lease lost while its execution runs and takes the slot again', async () => {
    const sem = createMemorySemaphore();
    const a = startNode(2, { semaphore: sem, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, retryMs: RETRY_MS });
    a.acquire('a1', 'normal');
    await waitFor(() => a.granted.length === 1);
    expect(await sem.release('a1')).toBe(true); // behind the actor's back, as an expiry during a stall would
    await waitFor(() => a.errors.some((e) => e.what === 'lease-lost'));
    expect(String(a.errors[0]!.err)).toContain('a1');
    await waitFor(async () => (await sem.held(Date.now())) === 1, { message: 'the slot taken again' });
    expect(await sem.renew(['a1'], LEASE_MS, Date.now())).toEqual([]);
    expect((await a.client.snapshot()).active_count).toBe(1); // still running all along
    expect(a.errors.filter((e) => e.what === 'lease-lost')).toHaveLength(1);
  });

  it('keeps running while the semaphore is unreachable, retries on one timer, and grants once it answers again', async () => {
    const sem = counting(createMemorySemaphore());
    sem.down = true;
    const a = startNode(2, { semaphore: sem, leaseMs: LEASE_MS, retryMs: RETRY_MS });
    a.acquire('low', 'low');
    a.acquire('n1', 'normal');
    a.acquire('crit', 'critical');
    a.acquire('n2', 'normal');
    a.acquire('bg', 'background');
    await waitFor(() => a.errors.filter((e) => e.what === 'acquire').length >= 5, { message: 'five failed acquires' });
    expect(await a.client.snapshot()).toMatchObject({ queue_depth: 5, active_count: 0, max_concurrent: 2 });
    // One acquire at a time, spaced by the retry timer: five waiters do not mean five timers.
    const times = sem.acquires.map((c) => c.at);
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(RETRY_MS - 2);
    expect(a.granted).toEqual([]);

    sem.down = false;
    await waitFor(() => a.granted.length === 2);
    expect(a.granted).toEqual(['crit', 'n1']);
    expect(a.errors.every((e) => e.what === 'acquire' && e.err instanceof Error)).toBe(true);
    a.release('crit');
    await waitFor(() => a.granted.length === 3);
    expect(a.granted[2]).toBe('n2');
  });

  it('gives up on an acquire that does not answer within a lease, and tries again', async () => {
    const sem = counting(createMemorySemaphore());
    const hung = gate();
    sem.hold = hung.promise;
    const a = startNode(1, { semaphore: sem, leaseMs: 200, retryMs: RETRY_MS });
    a.acquire('x', 'normal');
    await waitFor(() => a.errors.some((e) => e.what === 'acquire'), { message: 'the hung acquire given up' });
    expect(String(a.errors[0]!.err)).toContain('took longer than 200 ms');
    sem.hold = null;
    await waitFor(() => a.granted.length === 1);
    expect(sem.acquires.length).toBeGreaterThanOrEqual(2);
    // The first call finally lands. Its answer is ignored, but (acquire being idempotent) it rewrites x's
    // lease with its old start, which has run out: the next renew finds x lost, says so and takes it again.
    hung.resolve();
    await waitFor(() => sem.acquires[0]!.result !== undefined);
    await waitFor(() => a.errors.some((e) => e.what === 'lease-lost'), { message: 'the shortened lease noticed' });
    await waitFor(async () => (await sem.held(Date.now())) === 1, { message: 'x holding its slot again' });
    expect(a.granted).toEqual(['x']);
    expect((await a.client.snapshot()).active_count).toBe(1);
  });

  it('gives the slot back when the execution leaves while its acquire is in flight', async () => {
    const sem = counting(createMemorySemaphore());
    const held = gate();
    sem.hold = held.promise;
    const a = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, retryMs: RETRY_MS });
    a.acquire('x', 'normal');
    await waitFor(() => sem.acquires.length === 1);
    a.release('x');
    await waitFor(async () => (await a.client.snapshot()).queue_depth === 0);
    sem.hold = null;
    held.resolve();
    await waitFor(() => sem.acquires[0]!.result === true);
    await waitFor(async () => (await sem.held(Date.now())) === 0, { message: 'the slot given back' });
    // Once when it left (withdrawing its place in the line), once for the slot the late answer took.
    expect(sem.releases).toEqual(['x', 'x']);
    expect(a.granted).toEqual([]);
    expect((await a.client.snapshot()).active_count).toBe(0);
  });

  it('gives the slot back when the actor is stopped while an acquire is in flight', async () => {
    const sem = counting(createMemorySemaphore());
    const held = gate();
    sem.hold = held.promise;
    const a = startNode(1, { semaphore: sem, leaseMs: 60_000, retryMs: RETRY_MS });
    a.acquire('x', 'normal');
    await waitFor(() => sem.acquires.length === 1);
    stopAdmission(a.admission);
    await new Promise((r) => setImmediate(r)); // afterStop runs on the setImmediate queued by stop
    held.resolve();
    await waitFor(() => sem.releases.includes('x'));
    expect(await sem.held(Date.now())).toBe(0);
  });

  it('grants an execution that is already active at once when it asks again (its saga restarted)', async () => {
    const sem = counting(createMemorySemaphore());
    const a = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, retryMs: RETRY_MS });
    a.acquire('x', 'normal');
    await waitFor(() => a.granted.length === 1);
    const calls = sem.acquires.length;
    a.acquire('x', 'normal');
    await waitFor(() => a.granted.length === 2);
    expect(a.granted).toEqual(['x', 'x']);
    expect(sem.acquires.length).toBe(calls);
    expect(await sem.held(Date.now())).toBe(1);
  });

  it('asks the semaphore for the cap as it is now: a raised SetMaxConcurrent admits at once', async () => {
    const sem = counting(createMemorySemaphore());
    expect(await sem.acquire('elsewhere', 1, 60_000, Date.now())).toBe(true); // another node's running execution
    const a = startNode(1, { semaphore: sem, leaseMs: LEASE_MS, retryMs: 10_000 });
    a.acquire('x', 'normal');
    await waitFor(() => sem.acquires.some((c) => c.holder === 'x' && c.result === false));
    const t0 = Date.now();
    a.client.setMaxConcurrent(2);
    await waitFor(() => a.granted.length === 1);
    expect(Date.now() - t0).toBeLessThan(1_000); // not after the 10 s retry
    expect(sem.acquires.filter((c) => c.holder === 'x').map((c) => c.capacity)).toEqual([1, 2]);
    expect(await a.client.snapshot()).toMatchObject({ max_concurrent: 2, active_count: 1 });
  });

  it('survives semaphore errors on release and renew, reporting them', async () => {
    const sem = counting(createMemorySemaphore());
    const a = startNode(2, { semaphore: sem, leaseMs: LEASE_MS, renewEveryMs: RENEW_MS, retryMs: RETRY_MS });
    a.acquire('x', 'normal');
    a.acquire('y', 'normal');
    await waitFor(() => a.granted.length === 2);
    sem.down = true;
    a.release('x');
    await waitFor(() => a.errors.some((e) => e.what === 'release') && a.errors.some((e) => e.what === 'renew'));
    sem.down = false;
    a.acquire('z', 'normal');
    await waitFor(() => a.granted.length === 3, { message: 'z granted once the semaphore answers again' });
    expect(await a.client.snapshot()).toMatchObject({ active_count: 2, queue_depth: 0 });
    // The node is still answering plain messages.
    dispatch(a.admission, { type: 'SetMaxConcurrent', max: 5 });
    await waitFor(async () => (await a.client.snapshot()).max_concurrent === 5);
  });
});
