import { dispatch, spawn, type Ref } from 'nact';
import type { AdmissionMsg, AdmissionReply } from './messages.js';
import { AdmissionQueue } from './queue.js';

/** Spawns the node's admission actor: bounded concurrency, highest priority first, slots released exactly once. */
export function spawnAdmission(parent: Ref<unknown>, maxConcurrent: number): Ref<AdmissionMsg> {
  const waiters = new Map<string, Ref<AdmissionReply>>();
  const queue = new AdmissionQueue(maxConcurrent);

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
          const position = queue.enqueue(msg.executionId, msg.priority);
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
          grantAll();
          break;
        case 'SetMaxConcurrent':
          queue.setMax(msg.max);
          grantAll();
          break;
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
