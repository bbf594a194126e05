import type { Ref } from 'nact';
import type { DomainEvent, DomainEventOf } from '../../system/domain/events.js';
import type { SagaDone } from '../saga/messages.js';

/** A command routed to the partition that owns its execution. */
export type ExecutionCommand =
  | DomainEventOf<'execution_requested'>
  | DomainEventOf<'execution_cancel_requested'>
  | DomainEventOf<'execution_stdin_requested'>;

/** Whether an event is a command for the execution's owner. */
export function isExecutionCommand(event: DomainEvent): event is ExecutionCommand {
  return event.event_type === 'execution_requested' || event.event_type === 'execution_cancel_requested' || event.event_type === 'execution_stdin_requested';
}

export interface PartitionView {
  partition: number;
  executions: string[];
}

/** Messages a partition actor handles. */
export type PartitionMsg =
  /** `traceparent`: the context the record was consumed in; actors spawned for it trace under it. */
  | { type: 'Command'; command: ExecutionCommand; traceparent?: string | undefined; replyTo: Ref<'ok'> }
  | { type: 'Recover'; replyTo: Ref<number> }
  /** From the router's periodic sweep: executions of this partition that need actors; those without get them. */
  | { type: 'Adopt'; executionIds: string[] }
  | { type: 'ChildGaveUp'; executionId: string; error: string }
  | { type: 'Inspect'; replyTo: Ref<PartitionView> }
  | SagaDone;
