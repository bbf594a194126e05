import type { Ref } from 'nact';
import type { Priority } from '../../system/domain/execution.js';

/** Replies admission sends to whoever asked for a slot. */
export type AdmissionReply = { type: 'Queued'; executionId: string; position: number } | { type: 'SlotGranted'; executionId: string };

export interface QueueSnapshot {
  queue_depth: number;
  active_count: number;
  max_concurrent: number;
  by_priority: Record<Priority, number>;
}

/** Messages the admission actor handles. */
export type AdmissionMsg =
  | { type: 'Acquire'; executionId: string; priority: Priority; replyTo: Ref<AdmissionReply> }
  | { type: 'Release'; executionId: string }
  | { type: 'SetMaxConcurrent'; max: number }
  | { type: 'Snapshot'; replyTo: Ref<QueueSnapshot> };
