import type { Ref } from 'nact';
import type { Priority } from '../../system/domain/execution.js';

/** Replies admission sends to whoever asked for a slot. */
export type AdmissionReply = { type: 'Queued'; executionId: string; position: number } | { type: 'SlotGranted'; executionId: string };

/** What a Reprioritize did: moved in the line, too late (it holds a slot), or remembered until it asks for one. */
export interface ReprioritizeReply {
  executionId: string;
  outcome: 'moved' | 'active' | 'pending';
  /** 1-based place in the waiting line after the move; 0 when not waiting. */
  position: number;
}

/** The queue as GET /admin/executions/queue reports it. */
export interface QueueSnapshot {
  queue_depth: number;
  active_count: number;
  max_concurrent: number;
  by_priority: Record<Priority, number>;
}

/** Messages the admission actor handles. */
export type AdmissionMsg =
  /**
   * `owner` names the asking actor instance; a Release carrying an owner only applies while that owner's
   * Acquire is the execution's latest, so a stopped saga's late Release cannot free its successor's slot.
   */
  | { type: 'Acquire'; executionId: string; priority: Priority; replyTo: Ref<AdmissionReply>; owner?: string }
  | { type: 'Release'; executionId: string; owner?: string }
  | { type: 'SetMaxConcurrent'; max: number }
  | { type: 'Reprioritize'; executionId: string; priority: Priority; replyTo: Ref<ReprioritizeReply> }
  | { type: 'Snapshot'; replyTo: Ref<QueueSnapshot> };
