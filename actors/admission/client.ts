import { dispatch, query, type Ref } from 'nact';
import type { Priority } from '../../system/domain/execution.js';
import type { AdmissionMsg, QueueSnapshot, ReprioritizeReply } from './messages.js';

const ASK_TIMEOUT_MS = 5_000;

/** The admission actor as services see it: plain async calls instead of messages. */
export interface AdmissionClient {
  /** Depth, active slots, cap and waiting count per priority. */
  snapshot(): Promise<QueueSnapshot>;
  /** Moves a waiting execution to another priority (remembered if its saga has not asked for a slot yet). */
  reprioritize(executionId: string, priority: Priority): Promise<ReprioritizeReply>;
  /** Changes the global concurrency cap; waiting executions are granted at once if it grew. */
  setMaxConcurrent(max: number): void;
}

/** Wraps an admission actor ref. */
export function admissionClient(ref: Ref<AdmissionMsg>): AdmissionClient {
  return {
    snapshot: () => query(ref, (replyTo: Ref<QueueSnapshot>) => ({ type: 'Snapshot' as const, replyTo }), ASK_TIMEOUT_MS) as Promise<QueueSnapshot>,
    reprioritize: (executionId, priority) =>
      query(ref, (replyTo: Ref<ReprioritizeReply>) => ({ type: 'Reprioritize' as const, executionId, priority, replyTo }), ASK_TIMEOUT_MS) as Promise<ReprioritizeReply>,
    setMaxConcurrent: (max) => dispatch(ref, { type: 'SetMaxConcurrent', max }),
  };
}
