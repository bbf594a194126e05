import { dispatch, spawn, type Ref } from 'nact';
import type { Priority } from '../../system/domain/execution.js';
import type { AdmissionMsg, AdmissionReply } from './messages.js';
import { AdmissionQueue } from './queue.js';

/** How many priority changes for executions that have not asked for a slot yet are remembered (oldest dropped first). */
export const MAX_PENDING_PRIORITIES = 10_000;

/** Spawns the node's admission actor: bounded concurrency, highest priority first, slots released exactly once. */
export function spawnAdmission(parent: Ref<unknown>, maxConcurrent: number): Ref<AdmissionMsg> {
  const waiters = new Map<string, Ref<AdmissionReply>>();
  const queue = new AdmissionQueue(maxConcurrent);
  /** Priority changes that arrived before their execution's Acquire (its saga had not asked yet); applied when it does. */
  const pendingPriority = new Map<string, Priority>();

  const grantAll = () => {
    for (const id of queue.grant()) {
      const to = waiters.get(id);
      waiters.delete(id);
      if (to) dispatch(to, { type: 'SlotGranted', executionId: id });
    }
  };

  return spawn(
    parent as Ref<never>,
    (state: null, msg: AdmissionMsg) => {
      switch (msg.type) {
        case 'Acquire': {
          const override = pendingPriority.get(msg.executionId);
          pendingPriority.delete(msg.executionId);
          const position = queue.enqueue(msg.executionId, override ?? msg.priority);
          dispatch(msg.replyTo, { type: 'Queued', executionId: msg.executionId, position });
          // Position 0: it already holds a slot (its saga restarted), so it is granted again at once.
          if (position === 0) dispatch(msg.replyTo, { type: 'SlotGranted', executionId: msg.executionId });
          else waiters.set(msg.executionId, msg.replyTo);
          grantAll();
          break;
        }
        case 'Release':
          queue.release(msg.executionId);
          waiters.delete(msg.executionId);
          pendingPriority.delete(msg.executionId);
          grantAll();
          break;
        case 'SetMaxConcurrent':
          queue.setMax(msg.max);
          grantAll();
          break;
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
      }
      return state;
    },
    'admission',
    { initialState: null, onCrash: (_m, _e, ctx) => ctx.resume },
  );
}
