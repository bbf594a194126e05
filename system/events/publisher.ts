import type { DomainEvent } from '../domain/events.js';
import type { ExecutionResult } from '../domain/execution.js';
import type { EventLog } from '../ports/event-log.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import type { EventStore } from '../stores/event-store.js';
import { executionChannel, toStreamFrame } from './stream-frame.js';
import { topicOf } from './topics.js';

/** Publishes a stamped event: stored first, then appended to the log, then fanned out to live streams. */
export class EventPublisher {
  constructor(
    private readonly store: EventStore,
    private readonly log: EventLog,
    private readonly bus: FanoutBus,
  ) {}

  async publish(event: DomainEvent, result: ExecutionResult | null = null): Promise<void> {
    await this.store.append(event);
    await this.log.append(topicOf(event.event_type), event.aggregate_id, JSON.stringify(event), { event_type: event.event_type });
    await this.bus.publish(executionChannel(event.aggregate_id), JSON.stringify(toStreamFrame(event, result)));
  }
}
