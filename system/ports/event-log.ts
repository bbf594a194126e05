/**
 * An append-only log of messages partitioned by key: Kafka in cluster mode, a durable file in embedded mode.
 * A consumer group's members share the partitions; each member handles one partition's records in order and
 * the offset is committed only after the handler resolved (at-least-once).
 */
export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  /** JSON text of the message. */
  value: string;
  headers: Record<string, string>;
}

/** A record to append: where it goes and what it says (the log picks the partition from the key). */
export interface NewLogRecord {
  topic: string;
  key: string;
  /** JSON text of the message. */
  value: string;
  headers?: Record<string, string>;
}

export type RecordHandler = (record: LogRecord) => Promise<void>;

/**
 * How a failing record is retried before it is dead-lettered; `attempts` counts the first try. The wait after a
 * failed attempt starts at `initialMs` and grows by `factor` up to `maxMs`; with `jitter` (0–1, default 0) each
 * wait is shortened by a random part of up to that fraction, so consumers that failed together do not retry together.
 */
export interface RetryPolicy {
  attempts: number;
  initialMs: number;
  factor: number;
  maxMs: number;
  jitter?: number;
}

export interface ConsumerOptions {
  group: string;
  topics: string[];
  /** Called with the partitions this member now owns, before their records are handled. */
  onAssigned?: (partitions: number[]) => Promise<void> | void;
  /** Called with partitions taken away; their in-flight records have finished. */
  onRevoked?: (partitions: number[]) => Promise<void> | void;
  /** How this consumer's failing records are retried (a policy per kind of message); default the log's. */
  retry?: RetryPolicy;
}

/** A running consumer-group member. */
export interface Consumer {
  stop(): Promise<void>;
}

/** A consumer group's distance from the end of one partition: records appended that it has not handled yet. */
export interface ConsumerLag {
  /** `kafka` or `embedded`. */
  system: string;
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

export interface EventLog {
  /** Number of partitions per topic; the key's hash picks one. */
  readonly partitions: number;
  /** Appends one record; resolves when it is durable. */
  append(topic: string, key: string, value: string, headers?: Record<string, string>): Promise<void>;
  /**
   * Appends many records in one call, as append() would one after the other (a key's records keep the order given),
   * for bursts such as a replay's batch. Answers one entry per record, in order: null once it is durable, or the
   * error that kept it out (an invalid record fails alone; a write that fails fails the records it carried).
   * Rejects only when the log is closed.
   */
  appendMany(records: readonly NewLogRecord[]): Promise<Array<Error | null>>;
  consume(options: ConsumerOptions, handler: RecordHandler): Promise<Consumer>;
  /** How far the consumer groups running in this process are behind, per topic and partition (for metrics). */
  lag(): Promise<ConsumerLag[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The topic that receives a record whose handler kept failing, with DEAD_LETTER_HEADERS added to its own. */
export const DEAD_LETTER_TOPIC = 'dead_letters';

/**
 * Headers a dead-lettered record carries: where it came from, the last error, how many attempts failed and the
 * consumer group whose handler failed.
 */
export const DEAD_LETTER_HEADERS = {
  topic: 'original_topic',
  partition: 'original_partition',
  offset: 'original_offset',
  error: 'error',
  attempts: 'attempts',
  group: 'consumer_group',
} as const;

/** Only strings go in, so whatever an adapter appends can be read back the same. Throws TypeError otherwise. */
export function checkRecord(key: unknown, value: unknown, headers: Record<string, unknown>): void {
  const problem = recordFieldProblem(key, value, headers);
  if (problem) throw problem;
}

/** What checkRecord would throw, or null. */
function recordFieldProblem(key: unknown, value: unknown, headers: Record<string, unknown>): TypeError | null {
  if (typeof key !== 'string' || typeof value !== 'string') return new TypeError('key and value must be strings');
  for (const name of Object.keys(headers)) {
    if (typeof headers[name] !== 'string') return new TypeError(`header '${name}' must be a string`);
  }
  return null;
}

/**
 * Why each record cannot be appended (a bad topic name or a non-string field), or null where it can; a topic's name
 * is checked once per call.
 */
export function recordProblems(records: readonly NewLogRecord[]): Array<Error | null> {
  const topics = new Map<string, Error | null>();
  return records.map(({ topic, key, value, headers }) => {
    let problem = topics.get(topic);
    if (problem === undefined) topics.set(topic, (problem = topicProblem(topic)));
    return problem ?? recordFieldProblem(key, value, headers ?? {});
  });
}

function topicProblem(topic: string): Error | null {
  try {
    checkTopic(topic);
    return null;
  } catch (error) {
    return asError(error);
  }
}

/** An unknown thrown value as an Error. */
export const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** Kafka's legal topic names, which every adapter accepts and nothing else. */
export function checkTopic(topic: string): void {
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw new Error(`invalid topic name '${topic}'`);
  }
}

/** Three attempts, 50 ms then 100 ms apart (capped at 400 ms when attempts are raised). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, initialMs: 50, factor: 2, maxMs: 400 };

/** Throws unless the policy makes sense: at least one attempt, delays that never shrink. */
export function checkRetry(retry: RetryPolicy): void {
  const ok =
    Number.isSafeInteger(retry.attempts) &&
    retry.attempts >= 1 &&
    retry.initialMs >= 0 &&
    retry.factor >= 1 &&
    retry.maxMs >= retry.initialMs &&
    (retry.jitter === undefined || (retry.jitter >= 0 && retry.jitter <= 1));
  if (!ok) throw new Error(`invalid retry policy ${JSON.stringify(retry)}`);
}

/** The wait before the next attempt: `delayMs` less a random part of up to `jitter` of it. */
export function retryWait(retry: RetryPolicy, delayMs: number, random: () => number = Math.random): number {
  return Math.round(delayMs * (1 - (retry.jitter ?? 0) * random()));
}
