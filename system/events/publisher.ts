import { STREAM_HIDDEN_EVENTS, type DomainEvent } from '../domain/events.js';
import type { ExecutionResult } from '../domain/execution.js';
import type { EventLog } from '../ports/event-log.js';
import type { FanoutBus } from '../ports/fanout-bus.js';
import type { EventStore } from '../stores/event-store.js';
import { executionChannel, toStreamFrame } from './stream-frame.js';
import { topicOf } from './topics.js';
import { currentTraceparent, inChildSpan, SpanKind, TRACEPARENT } from './trace-context.js';

/**
 * Publishes a stamped event: stored first, then appended to the log, then fanned out to live streams (unless
 * streams do not show it).
 * The store and the log are the record of what happened, so their failures fail the publish (the caller's
 * outbox retries it). The fan-out only speeds up live streams, which resume from the store: a bus that is
 * down is reported to `onFanoutError` and does not fail the publish.
 */
export class EventPublisher {
  constructor(
    private readonly store: EventStore,
    private readonly log: EventLog,
    private readonly bus: FanoutBus,
    private readonly onFanoutError: (error: unknown, event: DomainEvent) => void = () => {},
  ) {}

  async publish(event: DomainEvent, result: ExecutionResult | null = null): Promise<void> {
    await this.store.append(event);
    const topic = topicOf(event.event_type);
    // The append is a producer span of a traced operation; the record carries its context to the consumer.
    await inChildSpan(
      `publish ${event.event_type}`,
      { 'messaging.destination.name': topic, 'messaging.operation.type': 'send', 'execution.id': event.aggregate_id },
      () => {
        const trace = currentTraceparent();
        const headers: Record<string, string> = { event_type: event.event_type, ...(trace ? { [TRACEPARENT]: trace } : {}) };
        return this.log.append(topic, event.aggregate_id, JSON.stringify(event), headers);
      },
      SpanKind.PRODUCER,
    );
    if (STREAM_HIDDEN_EVENTS.has(event.event_type)) return;
    try {
      await this.bus.publish(executionChannel(event.aggregate_id), JSON.stringify(toStreamFrame(event, result)));
    } catch (error) {
      this.onFanoutError(error, event);
    }
  }
}
