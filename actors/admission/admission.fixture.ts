/**
 * Test helpers for the admission actor in cluster shape: "nodes" (one nact system each, with its own
 * admission actor) sharing one ConcurrencySemaphore, semaphore wrappers that count, fail or hold calls, and
 * the two-node run that the memory and Redis suites share.
 */
import { dispatch, spawnStateless, start, stop, type Ref } from 'nact';
import { expect } from 'vitest';
import { priorityRank, type Priority } from '../../system/domain/execution.js';
import type { ConcurrencySemaphore, WaitTicket } from '../../system/ports/concurrency-semaphore.js';
import { delay, waitFor } from '../../test/support/wait.js';
import { spawnAdmission, type AdmissionErrorKind, type AdmissionOptions } from './admission.actor.js';
import { admissionClient, type AdmissionClient } from './client.js';
import type { AdmissionMsg, AdmissionReply } from './messages.js';

/** One node: an actor system with an admission actor and a recorder of what it sends back. */
export interface TestNode {
  readonly system: Ref<unknown>;
  readonly admission: Ref<AdmissionMsg>;
  readonly client: AdmissionClient;
  /** Execution ids in the order they were granted (a re-grant of an active execution appears again). */
  readonly granted: string[];
  /** When each grant arrived (Date.now), parallel to `granted`. */
  readonly grantedAt: number[];
  /** Errors the actor reported, in order. */
  readonly errors: Array<{ what: AdmissionErrorKind; err: unknown }>;
  acquire(executionId: string, priority: Priority): void;
  release(executionId: string): void;
  /** Stops the node's whole actor system (a node that dies). */
  stop(): void;
}

const started: TestNode[] = [];

/** Starts a node; `onGrant` runs for every SlotGranted. */
export function startNode(maxConcurrent: number, options: AdmissionOptions, onGrant?: (executionId: string) => void): TestNode {
  const system = start() as Ref<unknown>;
  const errors: TestNode['errors'] = [];
  const admission = spawnAdmission(system, maxConcurrent, { onError: (err, what) => errors.push({ what, err }), ...options });
  const granted: string[] = [];
  const grantedAt: number[] = [];
  const recorder = spawnStateless(system as Ref<never>, (msg: AdmissionReply) => {
    if (msg.type !== 'SlotGranted') return;
    granted.push(msg.executionId);
    grantedAt.push(Date.now());
    onGrant?.(msg.executionId);
  }) as Ref<AdmissionReply>;
  let stopped = false;
  const node: TestNode = {
    system,
    admission,
    client: admissionClient(admission),
    granted,
    grantedAt,
    errors,
    acquire: (executionId, priority) => dispatch(admission, { type: 'Acquire', executionId, priority, replyTo: recorder }),
    release: (executionId) => dispatch(admission, { type: 'Release', executionId }),
    stop: () => {
      if (stopped) return;
      stopped = true;
      stop(system);
    },
  };
  started.push(node);
  return node;
}

/** Stops every node started so far (afterEach). */
export function stopNodes(): void {
  for (const node of started.splice(0)) node.stop();
}

/** A semaphore that passes every call on and keeps a log of them. */
export interface CountingSemaphore extends ConcurrencySemaphore {
  /** Every acquire: holder, capacity asked, when it was called, the lease start it gave, and what it answered once it did. */
  readonly acquires: Array<{ holder: string; capacity: number; at: number; nowMs: number; wait?: WaitTicket; result?: boolean | 'error' }>;
  /** Every renew: the holders, when, and the lease start it gave. */
  readonly renews: Array<{ holders: readonly string[]; at: number; nowMs: number }>;
  readonly releases: string[];
  /** While true, acquire, renew and release reject as an unreachable server would. */
  down: boolean;
  /** When set, the next acquires wait for it before reaching the inner semaphore. */
  hold: Promise<void> | null;
}

/** Wraps `inner` in a CountingSemaphore. */
export function counting(inner: ConcurrencySemaphore): CountingSemaphore {
  const unreachable = () => Promise.reject(new Error('semaphore unreachable (test)'));
  const sem: CountingSemaphore = {
    acquires: [],
    renews: [],
    releases: [],
    down: false,
    hold: null,
    async acquire(holder, capacity, leaseMs, nowMs, wait) {
      const entry: CountingSemaphore['acquires'][number] = { holder, capacity, at: Date.now(), nowMs, wait };
      sem.acquires.push(entry);
      if (sem.hold) await sem.hold;
      if (sem.down) {
        entry.result = 'error';
        return unreachable();
      }
      const ok = await inner.acquire(holder, capacity, leaseMs, nowMs, wait);
      entry.result = ok;
      return ok;
    },
    async renew(holders, leaseMs, nowMs) {
      sem.renews.push({ holders: [...holders], at: Date.now(), nowMs });
      if (sem.down) return unreachable();
      return inner.renew(holders, leaseMs, nowMs);
    },
    async release(holder) {
      sem.releases.push(holder);
      if (sem.down) return unreachable();
      return inner.release(holder);
    },
    held: (nowMs) => inner.held(nowMs),
    ping: () => (sem.down ? unreachable() : inner.ping()),
    close: () => inner.close(),
  };
  return sem;
}

/** Ten executions per node, priorities mixed so that arrival order and grant order differ. */
/**
 * When `holder`'s last lease through `sem` runs out: the latest lease start (granted acquire or renew; a
 * renew that found it gone extends nothing, but counting it only makes the bound later) plus `leaseMs`.
 */
export function leaseEnd(sem: CountingSemaphore, holder: string, leaseMs: number): number {
  const starts = [
    ...sem.acquires.filter((c) => c.holder === holder && c.result === true).map((c) => c.nowMs),
    ...sem.renews.filter((r) => r.holders.includes(holder)).map((r) => r.nowMs),
  ];
  return Math.max(...starts) + leaseMs;
}

const MIX: Priority[] = ['low', 'normal', 'critical', 'background', 'high', 'normal', 'critical', 'low', 'high', 'background'];

/** The order a node must grant `ids` in: by priority, then arrival. */
function expectedOrder(ids: string[]): string[] {
  return ids
    .map((id, i) => ({ id, i, rank: priorityRank(MIX[i % MIX.length]!) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((e) => e.id);
}

export interface TwoNodeResult {
  /** Most executions granted and not yet released at once, across both nodes. */
  maxRunning: number;
  /** Most active slots the two snapshots reported at once. */
  maxActiveSnapshots: number;
  elapsedMs: number;
}

/**
 * Two nodes with the same cap sharing one semaphore (`semA` and `semB` may be two clients of it; `probe` a
 * third): the cap is first filled by blockers so that every node queues all of its executions, then the
 * blockers leave and each grant is released `holdMs` later. Checks the cap across nodes, that every
 * execution is granted, and the priority order within each node.
 */
export async function twoNodeRun(
  semaphores: { semA: ConcurrencySemaphore; semB: ConcurrencySemaphore; probe: ConcurrencySemaphore },
  { capacity = 3, perNode = 10, holdMs = 30, leaseMs = 400, retryMs = 25 } = {},
): Promise<TwoNodeResult> {
  const running = new Set<string>();
  let maxRunning = 0;
  const timers = new Set<NodeJS.Timeout>();
  const makeOnGrant = (node: () => TestNode) => (id: string) => {
    running.add(id);
    maxRunning = Math.max(maxRunning, running.size);
    const timer = setTimeout(() => {
      timers.delete(timer);
      running.delete(id); // counted as done before the slot is given back, so the count is never low
      node().release(id);
    }, holdMs);
    timers.add(timer);
  };

  const blockers = Array.from({ length: capacity }, (_, i) => `blocker-${i}`);
  for (const b of blockers) expect(await semaphores.probe.acquire(b, capacity, 60_000, Date.now())).toBe(true);

  const semA = counting(semaphores.semA);
  const semB = counting(semaphores.semB);
  const a: TestNode = startNode(capacity, { semaphore: semA, leaseMs, retryMs }, makeOnGrant(() => a));
  const b: TestNode = startNode(capacity, { semaphore: semB, leaseMs, retryMs }, makeOnGrant(() => b));
  const idsA = Array.from({ length: perNode }, (_, i) => `a${i}`);
  const idsB = Array.from({ length: perNode }, (_, i) => `b${i}`);
  idsA.forEach((id, i) => a.acquire(id, MIX[i % MIX.length]!));
  idsB.forEach((id, i) => b.acquire(id, MIX[i % MIX.length]!));
  const wantA = expectedOrder(idsA);
  const wantB = expectedOrder(idsB);

  // Every execution is queued, and each node has been told "full" for its first in line at least once, so
  // no acquire taken before the line was complete is still on its way.
  await waitFor(async () => (await a.client.snapshot()).queue_depth === perNode && (await b.client.snapshot()).queue_depth === perNode, {
    message: 'all executions queued',
  });
  await waitFor(() => semA.acquires.some((c) => c.holder === wantA[0] && c.result === false) && semB.acquires.some((c) => c.holder === wantB[0] && c.result === false), {
    message: 'a full answer for the first in line on both nodes',
  });
  expect(a.granted).toEqual([]);
  expect(b.granted).toEqual([]);

  let maxActiveSnapshots = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [sa, sb] = await Promise.all([a.client.snapshot(), b.client.snapshot()]);
      maxActiveSnapshots = Math.max(maxActiveSnapshots, sa.active_count + sb.active_count);
      expect(sa.active_count + sb.active_count).toBeLessThanOrEqual(capacity);
      await new Promise((r) => setTimeout(r, 3));
    }
  })();

  const t0 = Date.now();
  for (const blocker of blockers) await semaphores.probe.release(blocker);
  try {
    await waitFor(() => a.granted.length === perNode && b.granted.length === perNode, {
      timeoutMs: 20_000,
      message: `all ${2 * perNode} granted (a: ${a.granted.length}, b: ${b.granted.length})`,
    });
    await waitFor(() => running.size === 0, { message: 'every execution released' });
  } finally {
    sampling = false;
    await sampler;
    for (const t of timers) clearTimeout(t);
  }
  const elapsedMs = Date.now() - t0;

  expect(maxRunning).toBeLessThanOrEqual(capacity);
  expect(maxRunning).toBeGreaterThanOrEqual(2); // both nodes really ran side by side
  expect(a.granted).toEqual(wantA);
  expect(b.granted).toEqual(wantB);
  // Every capacity asked was the cap, and all slots come back.
  expect([...semA.acquires, ...semB.acquires].every((c) => c.capacity === capacity)).toBe(true);
  await waitFor(async () => (await semaphores.probe.held(Date.now())) === 0, { message: 'every slot released' });
  expect(a.errors).toEqual([]);
  expect(b.errors).toEqual([]);
  return { maxRunning, maxActiveSnapshots, elapsedMs };
}

/**
 * Global capacity 1, node A with four executions queued, node B with one that asks after A's first was granted:
 * each time A frees the slot, the waiter that asked first (B's) must get it before A's next. Returns the grant order.
 */
export async function takeTurns(semA: ConcurrencySemaphore, semB: ConcurrencySemaphore): Promise<string[]> {
  const order: string[] = [];
  const options = { leaseMs: 5_000, retryMs: 20 };
  const a = startNode(1, { semaphore: semA, ...options }, (id) => order.push(id));
  const b = startNode(1, { semaphore: semB, ...options }, (id) => order.push(id));
  for (const id of ['a1', 'a2', 'a3', 'a4']) a.acquire(id, 'normal');
  await waitFor(() => a.granted.length === 1);
  b.acquire('b1', 'normal');
  // b1 is in the semaphore's line before a1 frees the slot.
  await waitFor(async () => (await b.client.snapshot()).queue_depth === 1);
  await delay(5 * options.retryMs);
  for (let n = 1; n < 5; n++) {
    const last = order[n - 1]!;
    (last.startsWith('a') ? a : b).release(last);
    await waitFor(() => order.length === n + 1);
  }
  return order;
}
