/**
 * The node's admission actor. The local priority queue decides who is next; before a waiting execution
 * becomes active the actor takes a slot for it from the ConcurrencySemaphore (in memory in embedded mode,
 * shared by every node in cluster mode), so the cap holds across the cluster.
 *
 * - One acquire and one renew are in flight at a time; every semaphore answer comes back to the actor as an
 *   internal message, so its state is only ever touched inside its handler. A call that has not answered
 *   within `leaseMs` is given up as failed (any lease it took has run out by then).
 * - Only this node's next execution asks the semaphore, with a ticket (its priority) that keeps its place in the
 *   semaphore's line across nodes, so a node that frees a slot does not starve the others: the slot goes to
 *   whoever waits longest at the highest priority, cluster-wide.
 * - A full or unreachable semaphore is tried again after `retryMs` (one timer for all waiters); a slot freed
 *   on this node (once its semaphore release has answered) or a raised cap tries again at once.
 * - Leases of active executions are renewed every `renewEveryMs`; a lease reported lost goes to `onError`
 *   (the execution keeps running) and is taken again as soon as the semaphore has room.
 *
 * Stopping. nact 7.6.2 calls an actor's `afterStop` when the actor itself is stopped (`stop(ref)`, or
 * `stopAdmission(ref)` below); the actor then clears its timers and gives back any slot an acquire takes
 * after that. It does NOT call `afterStop` for the children of a stopped system (`stop(system)`), so the
 * timers are also built not to outlive the actor on their own: every timer is unref'd and one-shot, it only
 * dispatches a message to the actor, and it is re-armed only by the actor's handler. Once the actor is gone
 * that dispatch is a no-op, so at most one pending timer of each kind fires once and nothing follows.
 * Active slots are not released on stop (their executions may still be running somewhere): their leases
 * run out after `leaseMs`, as a dead node's do.
 */
import { dispatch, spawn, stop, type Ref } from 'nact';
import { priorityRank, type Priority } from '../../system/domain/execution.js';
import type { ConcurrencySemaphore } from '../../system/ports/concurrency-semaphore.js';
import type { AdmissionMsg, AdmissionReply } from './messages.js';
import { AdmissionQueue } from './queue.js';
import { executionMetrics } from '../../system/telemetry/instruments.js';
import { instrumented } from '../supervision/instrumented.js';

/** How many priority changes for executions that have not asked for a slot yet are remembered (oldest dropped first). */
export const MAX_PENDING_PRIORITIES = 10_000;

/** Which semaphore call an error reported to `onError` came from; `lease-lost` when a renew said a running execution's lease had run out. */
export type AdmissionErrorKind = 'acquire' | 'renew' | 'release' | 'lease-lost';

/** Settings of spawnAdmission; only the semaphore is required. */
export interface AdmissionOptions {
  /** Where slots come from: the node's port (in memory in embedded mode, Redis in a cluster). */
  semaphore: ConcurrencySemaphore;
  /** Lease of a slot, renewed while its execution runs; default 30 000 ms. */
  leaseMs?: number;
  /** How often leases are renewed; default a third of `leaseMs`. */
  renewEveryMs?: number;
  /** How soon to try again when the semaphore is full or unreachable; default 50 ms: with slots handed out in line order, a slot another node freed is idle until its next-in-line asks again. */
  retryMs?: number;
  /** Clock for leases (epoch ms); default Date.now. */
  now?: () => number;
  /** Told about semaphore failures and lost leases; the actor carries on. Default: one line on stderr. */
  onError?: (err: unknown, what: AdmissionErrorKind) => void;
}

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_RETRY_MS = 50;
/** Shortest time a waiter keeps its place in the semaphore's line between asks (a slow Redis must not cost it). */
const HOLD_PLACE_MIN_MS = 2_500;

/** Messages the actor sends itself; not part of the public protocol. */
type InternalMsg =
  | { type: '$AcquireDone'; attempt: number; executionId: string; ok: boolean; error?: unknown }
  | { type: '$RenewDone'; lost: string[]; error?: unknown }
  | { type: '$ReleaseDone'; executionId: string; error?: unknown }
  | { type: '$Retry'; generation: number }
  | { type: '$RenewTick' };

type Msg = AdmissionMsg | InternalMsg;

const defaultOnError = (err: unknown, what: AdmissionErrorKind): void => {
  console.error(`admission: semaphore ${what}: ${err instanceof Error ? err.message : String(err)}`);
};

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`spawnAdmission: ${name} must be a positive integer, got ${value}`);
  return value;
}

/** Settles like `start()`, or rejects after `ms` (a semaphore call that hangs must not wedge admission). */
function withDeadline<T>(start: () => Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`semaphore ${what} took longer than ${ms} ms`)), ms);
    timer.unref();
    Promise.resolve()
      .then(start)
      .then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
  });
}

/**
 * Spawns the node's admission actor: bounded concurrency across every node sharing `options.semaphore`,
 * highest priority first on this node, slots released exactly once.
 */
export function spawnAdmission(parent: Ref<unknown>, maxConcurrent: number, options: AdmissionOptions): Ref<AdmissionMsg> {
  const { semaphore } = options;
  const leaseMs = positiveInt('leaseMs', options.leaseMs ?? DEFAULT_LEASE_MS);
  const renewEveryMs = positiveInt('renewEveryMs', options.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 3)));
  const retryMs = positiveInt('retryMs', options.retryMs ?? DEFAULT_RETRY_MS);
  const clock = options.now ?? Date.now;
  const now = () => Math.max(0, Math.floor(clock()));
  const onError = options.onError ?? defaultOnError;
  /** A semaphore call that has not answered within a lease is given up: any slot it took has run out by then. */
  const deadlineMs = leaseMs;
  /** How long this node's next execution keeps its place in the semaphore's line between asks (several retries). */
  const holdPlaceMs = Math.max(HOLD_PLACE_MIN_MS, retryMs * 10);

  const waiters = new Map<string, Ref<AdmissionReply>>();
  /** When each waiting execution was queued (performance.now()), for the queue-wait histogram. */
  const waitingSince = new Map<string, number>();
  const queue = new AdmissionQueue(maxConcurrent);
  /** The latest asker of each waiting or active execution (see AdmissionMsg Acquire.owner). */
  const owners = new Map<string, string>();
  /** Priority changes that arrived before their execution's Acquire (its saga had not asked yet); applied when it does. */
  const pendingPriority = new Map<string, Priority>();
  /** Active executions whose lease ran out; they are taken again before anyone new is admitted. */
  const lost = new Set<string>();

  /** The one acquire in flight: for a waiting execution (`admit`) or a lost lease (`reclaim`). */
  let acquiring: { attempt: number; executionId: string; kind: 'admit' | 'reclaim' } | null = null;
  let attempts = 0;
  /** A slot was freed on this node while an acquire was in flight: if it says full, try again at once. */
  let freedMeanwhile = false;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryGeneration = 0;
  let renewTimer: NodeJS.Timeout | null = null;
  let renewing = false;
  /** Set by afterStop: no more timers, and a slot taken for a waiter after this is given back. */
  let closed = false;

  let self!: Ref<Msg>;
  const toSelf = (msg: InternalMsg) => dispatch(self, msg);

  const report = (err: unknown, what: AdmissionErrorKind) => {
    try {
      onError(err, what);
    } catch {
      // A failing error hook must not take admission down.
    }
  };

  const releaseSlot = (executionId: string) => {
    withDeadline(() => semaphore.release(executionId), deadlineMs, 'release').then(
      () => toSelf({ type: '$ReleaseDone', executionId }),
      (error: unknown) => toSelf({ type: '$ReleaseDone', executionId, error }),
    );
  };

  const cancelRetry = () => {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    retryGeneration++;
  };

  const scheduleRetry = () => {
    if (closed || retryTimer) return;
    const generation = ++retryGeneration;
    retryTimer = setTimeout(() => toSelf({ type: '$Retry', generation }), retryMs);
    retryTimer.unref();
  };

  const ensureRenewing = () => {
    if (closed || renewTimer || queue.activeIds().length === 0) return;
    renewTimer = setTimeout(() => toSelf({ type: '$RenewTick' }), renewEveryMs);
    renewTimer.unref();
  };

  /** Starts the next acquire if none is in flight and nobody is waiting for the retry timer. */
  const pump = () => {
    if (closed || acquiring || retryTimer) return;
    let executionId: string | undefined;
    let kind: 'admit' | 'reclaim' = 'reclaim';
    for (const id of lost) {
      executionId = id;
      break;
    }
    if (executionId === undefined) {
      executionId = queue.peekNext();
      kind = 'admit';
    }
    if (executionId === undefined) return;
    const attempt = ++attempts;
    const id = executionId;
    acquiring = { attempt, executionId: id, kind };
    freedMeanwhile = false;
    const capacity = queue.maxConcurrent;
    // A lost lease belongs to a running execution: it goes before anything that waits to start.
    const priority = queue.priorityOf(id);
    const wait = { rank: kind === 'reclaim' || priority === undefined ? 0 : 1 + priorityRank(priority), holdPlaceMs };
    // Taken before the deadline starts, so a lease granted by an acquire given up on has run out by then.
    const leaseStart = now();
    withDeadline(() => semaphore.acquire(id, capacity, leaseMs, leaseStart, wait), deadlineMs, 'acquire').then(
      (ok) => {
        // Stopped meanwhile: nobody will be told about this slot, so give it back (reads the flag only).
        if (closed && ok && kind === 'admit') {
          Promise.resolve()
            .then(() => semaphore.release(id))
            .catch((error: unknown) => report(error, 'release'));
        } else toSelf({ type: '$AcquireDone', attempt, executionId: id, ok });
      },
      (error: unknown) => toSelf({ type: '$AcquireDone', attempt, executionId: id, ok: false, error }),
    );
  };

  const onAcquireDone = (msg: Extract<InternalMsg, { type: '$AcquireDone' }>) => {
    if (!acquiring || acquiring.attempt !== msg.attempt) return; // not the acquire in flight (never expected)
    const { kind, executionId } = acquiring;
    acquiring = null;
    if (!msg.ok) {
      if (msg.error !== undefined) report(msg.error, 'acquire');
      if (freedMeanwhile && msg.error === undefined) pump();
      else scheduleRetry();
      return;
    }
    const priority = queue.priorityOf(executionId);
    if (kind === 'admit' && queue.activate(executionId)) {
      const since = waitingSince.get(executionId);
      waitingSince.delete(executionId);
      if (since !== undefined) executionMetrics.admitted(priority ?? 'unknown', (performance.now() - since) / 1000);
      const to = waiters.get(executionId);
      waiters.delete(executionId);
      if (to) dispatch(to, { type: 'SlotGranted', executionId });
      ensureRenewing();
    } else if (kind === 'reclaim' && queue.isActive(executionId)) {
      lost.delete(executionId);
    } else if (!queue.isActive(executionId)) {
      // Withdrawn or released while the acquire was in flight: the slot is nobody's.
      releaseSlot(executionId);
    }
    pump();
  };

  const onRenewTick = () => {
    renewTimer = null;
    const active = queue.activeIds();
    if (active.length === 0) return; // the chain stops; the next activation starts it again
    ensureRenewing();
    const holders = active.filter((id) => !lost.has(id));
    if (renewing || holders.length === 0) return;
    renewing = true;
    const leaseStart = now();
    withDeadline(() => semaphore.renew(holders, leaseMs, leaseStart), deadlineMs, 'renew').then(
      (gone) => toSelf({ type: '$RenewDone', lost: gone }),
      (error: unknown) => toSelf({ type: '$RenewDone', lost: [], error }),
    );
  };

  const onRenewDone = (msg: Extract<InternalMsg, { type: '$RenewDone' }>) => {
    renewing = false;
    if (msg.error !== undefined) report(msg.error, 'renew');
    for (const id of msg.lost) {
      if (!queue.isActive(id) || lost.has(id)) continue; // released meanwhile, or already being taken again
      lost.add(id);
      report(new Error(`lease of ${id} ran out while it was running; taking its slot again`), 'lease-lost');
    }
    if (lost.size > 0) pump();
  };

  self = spawn(
    parent as Ref<never>,
    instrumented('admission', (state: null, msg: Msg) => {
      switch (msg.type) {
        case 'Acquire': {
          if (msg.owner !== undefined) owners.set(msg.executionId, msg.owner);
          else owners.delete(msg.executionId);
          const override = pendingPriority.get(msg.executionId);
          pendingPriority.delete(msg.executionId);
          const position = queue.enqueue(msg.executionId, override ?? msg.priority);
          if (position !== 0 && !waitingSince.has(msg.executionId)) waitingSince.set(msg.executionId, performance.now());
          dispatch(msg.replyTo, { type: 'Queued', executionId: msg.executionId, position });
          // Position 0: it already holds a slot (its saga restarted), so it is granted again at once.
          if (position === 0) dispatch(msg.replyTo, { type: 'SlotGranted', executionId: msg.executionId });
          else waiters.set(msg.executionId, msg.replyTo);
          pump();
          break;
        }
        case 'Release': {
          // From an actor instance that is no longer the execution's latest asker: not its slot to give back.
          if (msg.owner !== undefined && owners.get(msg.executionId) !== msg.owner) break;
          owners.delete(msg.executionId);
          const what = queue.release(msg.executionId);
          waiters.delete(msg.executionId);
          waitingSince.delete(msg.executionId);
          pendingPriority.delete(msg.executionId);
          lost.delete(msg.executionId);
          // A withdrawn waiter holds no slot (if its acquire is in flight, the answer gives the slot back), but it
          // may hold a place in the semaphore's line: releasing withdraws that too.
          if (what !== 'unknown') releaseSlot(msg.executionId);
          break;
        }
        case 'SetMaxConcurrent': {
          const grew = msg.max > queue.maxConcurrent;
          queue.setMax(msg.max);
          if (grew) cancelRetry();
          pump();
          break;
        }
        case 'Reprioritize': {
          const moved = queue.reprioritize(msg.executionId, msg.priority);
          if (moved === 'unknown') {
            pendingPriority.delete(msg.executionId);
            pendingPriority.set(msg.executionId, msg.priority);
            if (pendingPriority.size > MAX_PENDING_PRIORITIES) pendingPriority.delete(pendingPriority.keys().next().value!);
          }
          const outcome = moved === 'unknown' ? 'pending' : moved;
          dispatch(msg.replyTo, { executionId: msg.executionId, outcome, position: queue.positionOf(msg.executionId) });
          break;
        }
        case 'Snapshot':
          dispatch(msg.replyTo, queue.snapshot());
          break;
        case '$AcquireDone':
          onAcquireDone(msg);
          break;
        case '$ReleaseDone':
          if (msg.error !== undefined) report(msg.error, 'release');
          // A slot was freed here: whoever waits need not wait for the retry timer.
          if (acquiring) freedMeanwhile = true;
          cancelRetry();
          pump();
          break;
        case '$Retry':
          if (msg.generation !== retryGeneration) break;
          retryTimer = null;
          pump();
          break;
        case '$RenewTick':
          onRenewTick();
          break;
        case '$RenewDone':
          onRenewDone(msg);
          break;
      }
      return state;
    }),
    'admission',
    {
      initialState: null,
      onCrash: (_m, _e, ctx) => ctx.resume,
      afterStop: () => {
        closed = true;
        cancelRetry();
        if (renewTimer) clearTimeout(renewTimer);
        renewTimer = null;
      },
    },
  ) as Ref<Msg>;
  return self as Ref<AdmissionMsg>;
}

/**
 * Stops an admission actor (nact's `stop`, which runs its afterStop: timers cleared). Stopping the whole
 * actor system does not run afterStop in nact 7.6.2; the timers then end by themselves (see above).
 */
export function stopAdmission(ref: Ref<AdmissionMsg>): void {
  stop(ref);
}
