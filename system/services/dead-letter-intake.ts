import type { Component } from '../components.js';
import { sleep } from '../embedded/wakeup.js';
import { DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, type Consumer, type EventLog, type RecordHandler } from '../ports/event-log.js';
import { TOPICS } from '../events/topics.js';
import { deadLetterMetrics } from '../telemetry/instruments.js';
import type { DeadLetterService } from './dead-letters.js';

/** The consumer group that stores dead letters: every node joins it, so each record is stored once. */
export const DEAD_LETTER_GROUP = 'dead-letter-store';

export interface DeadLetterIntakeDeps {
  log: EventLog;
  service: Pick<DeadLetterService, 'ingest'>;
  /** Told about each failed store write before it is tried again. */
  onError: (error: unknown) => void;
  /** Backoff between store writes that failed; default 100 ms doubling to 5 s. */
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * The component that reads the dead-letter topic (the embedded log's dead letters, or Kafka's `dead_letters`) into
 * the dead-letter store. A failed store write is tried again until it succeeds or the node stops (then the record is
 * left uncommitted and read again next time): a dead letter must never become a dead letter itself.
 */
export function deadLetterIntake(deps: DeadLetterIntakeDeps): Component {
  const { initialMs, maxMs } = deps.backoff ?? { initialMs: 100, maxMs: 5_000 };
  let consumer: Consumer | undefined;
  let abort = new AbortController();

  const handler: RecordHandler = async (record) => {
    for (let delayMs = initialMs; ; delayMs = Math.min(delayMs * 2, maxMs)) {
      try {
        // False: stored before (a redelivery), already counted.
        if (await deps.service.ingest(record)) deadLetterMetrics.received(record.headers[DEAD_LETTER_HEADERS.topic] ?? 'unknown');
        return;
      } catch (error) {
        if (abort.signal.aborted) throw error;
        deps.onError(error);
      }
      if (!(await sleep(delayMs, abort.signal))) throw new Error('dead-letter intake stopped');
    }
  };

  return {
    name: 'dead-letter-intake',
    async start() {
      abort = new AbortController();
      deadLetterMetrics.known(Object.values(TOPICS).filter((t) => t !== DEAD_LETTER_TOPIC));
      consumer = await deps.log.consume({ group: DEAD_LETTER_GROUP, topics: [DEAD_LETTER_TOPIC] }, handler);
    },
    async stop() {
      // The member stops taking records first, so the record cut short below counts as interrupted, not failed.
      const stopping = consumer?.stop();
      abort.abort();
      await stopping;
    },
  };
}
