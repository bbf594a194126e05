/**
 * One embedded consumer-group member. It owns every partition of its topics; each (topic, partition) runs its
 * own loop that handles records strictly in order, one at a time, and commits an offset only after the handler
 * resolved. A failing record is retried with exponential backoff, then dead-lettered and committed past.
 * A record whose handler is interrupted by stop() stays uncommitted and is delivered again next time.
 */
import { setMaxListeners } from 'node:events';
import {
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_TOPIC,
  type Consumer,
  type ConsumerOptions,
  type LogRecord,
  type RecordHandler,
  checkRetry,
  retryWait,
  type RetryPolicy,
} from '../ports/event-log.js';
import { partitionOf } from '../domain/partition.js';
import type { LogTables } from './log-tables.js';
import { partitionKey, sleep, type Wakeup } from './wakeup.js';

export { checkRetry, DEFAULT_RETRY, retryWait, type RetryPolicy } from '../ports/event-log.js';

/** What a member needs from the log that created it. */
export interface MemberContext {
  tables: LogTables;
  wakeup: Wakeup;
  partitions: number;
  retry: RetryPolicy;
  /** Longest wait without a wake-up before looking again (records written by another process). */
  pollMs: number;
  batchSize: number;
  /** Called after a record was appended (the dead letter), so waiting consumers see it. */
  appended(topic: string, partition: number): void;
  /** Reports a storage fault the member recovered from. */
  onError(error: unknown): void;
}

type Outcome = 'handled' | 'dead' | 'interrupted';

/** Starts a member: announces its partitions, then runs one loop per (topic, partition). */
export async function startMember(
  context: MemberContext,
  options: ConsumerOptions,
  handler: RecordHandler,
): Promise<Consumer> {
  const owned = Array.from({ length: context.partitions }, (_, partition) => partition);
  if (options.retry) checkRetry(options.retry);
  // This member's records are retried by its own policy when it has one.
  const member: MemberContext = options.retry ? { ...context, retry: options.retry } : context;
  await options.onAssigned?.(owned);
  const abort = new AbortController();
  // Every partition loop listens for the abort; that many listeners is expected, not a leak.
  setMaxListeners(0, abort.signal);
  const loops = options.topics.flatMap((topic) =>
    owned.map((partition) => runPartition(member, options.group, topic, partition, handler, abort.signal)),
  );
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        abort.abort();
        await Promise.all(loops);
        await options.onRevoked?.(owned);
      })();
      return stopped;
    },
  };
}

async function runPartition(
  context: MemberContext,
  group: string,
  topic: string,
  partition: number,
  handler: RecordHandler,
  abort: AbortSignal,
): Promise<void> {
  while (!abort.aborted) {
    try {
      await drainPartition(context, group, topic, partition, handler, abort);
    } catch (error) {
      // A storage fault (a locked or broken file): report it and start again from the committed offset.
      context.onError(error);
      await sleep(context.pollMs, abort);
    }
  }
}

async function drainPartition(
  context: MemberContext,
  group: string,
  topic: string,
  partition: number,
  handler: RecordHandler,
  abort: AbortSignal,
): Promise<void> {
  const key = partitionKey(topic, partition);
  let next = context.tables.committed(group, topic, partition);
  while (!abort.aborted) {
    const batch = context.tables.read(topic, partition, next, context.batchSize);
    if (batch.length === 0) {
      // Nothing awaited between the read and the wait, so an append in this process cannot slip in between.
      await context.wakeup.wait(key, context.pollMs, abort);
      continue;
    }
    for (const record of batch) {
      const outcome = await deliver(context, group, record, handler, abort);
      if (outcome === 'interrupted') return;
      if (outcome === 'handled') context.tables.commit(group, topic, partition, record.offset + 1);
      next = record.offset + 1;
      if (abort.aborted) return;
    }
  }
}

/** Hands one record to the handler with retries; dead-letters it when every attempt failed. */
async function deliver(
  context: MemberContext,
  group: string,
  record: LogRecord,
  handler: RecordHandler,
  abort: AbortSignal,
): Promise<Outcome> {
  const { retry } = context;
  let delayMs = retry.initialMs;
  let lastError: unknown;
  for (let attempt = 1; attempt <= retry.attempts; attempt++) {
    try {
      await handler(record);
      return 'handled';
    } catch (error) {
      lastError = error;
    }
    if (abort.aborted) return 'interrupted';
    if (attempt === retry.attempts) break;
    if (!(await sleep(retryWait(retry, delayMs), abort))) return 'interrupted';
    delayMs = Math.min(delayMs * retry.factor, retry.maxMs);
  }
  deadLetter(context, group, record, lastError);
  return 'dead';
}

function deadLetter(context: MemberContext, group: string, record: LogRecord, error: unknown): void {
  const partition = partitionOf(record.key, context.partitions);
  const headers: Record<string, string> = {
    ...record.headers,
    [DEAD_LETTER_HEADERS.topic]: record.topic,
    [DEAD_LETTER_HEADERS.partition]: String(record.partition),
    [DEAD_LETTER_HEADERS.offset]: String(record.offset),
    [DEAD_LETTER_HEADERS.error]: describe(error),
    [DEAD_LETTER_HEADERS.attempts]: String(context.retry.attempts),
    [DEAD_LETTER_HEADERS.group]: group,
  };
  context.tables.deadLetter(
    { topic: DEAD_LETTER_TOPIC, partition, key: record.key, value: record.value, headers },
    group,
    record,
  );
  context.appended(DEAD_LETTER_TOPIC, partition);
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
