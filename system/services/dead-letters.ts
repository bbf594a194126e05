import { errors } from '../domain/errors.js';
import type { Filter } from '../ports/document-store.js';
import { DEAD_LETTER_HEADERS, type EventLog, type LogRecord } from '../ports/event-log.js';
import type { DeadLetter, DeadLetterStatus, DeadLetterStore } from '../stores/dead-letter-store.js';

/** A dead letter as the admin API shows it: the stored fields, its payload parsed when it is JSON, and its age. */
export type DeadLetterView = Omit<DeadLetter, 'id'> & { message_id: string; event: unknown; age_seconds: number };

/** GET /admin/dlq/messages filters, validated. */
export interface DeadLetterQuery {
  status?: DeadLetterStatus;
  topic?: string;
  eventType?: string;
  consumerGroup?: string;
  limit: number;
  offset: number;
}

export interface DeadLetterPage {
  messages: DeadLetterView[];
  total: number;
  offset: number;
  limit: number;
}

/** One retry's outcome in a batch. */
export interface RetryOutcome {
  message_id: string;
  status: 'retried' | 'failed';
  error?: string;
}

export interface BatchRetryResult {
  total: number;
  successful: number;
  failed: number;
  details: RetryOutcome[];
}

/** What operators and metrics read: messages waiting for an admin, and how long the oldest has waited. */
export interface DeadLetterStats {
  depth: number;
  oldest_age_seconds: number;
  by_status: Record<DeadLetterStatus, number>;
}

/** Dead-letter use cases: take in dead letters, list and inspect them, retry and discard. */
export interface DeadLetterService {
  /** Stores one record of the dead-letter topic; false when it was stored before. */
  ingest(record: LogRecord): Promise<boolean>;
  list(query: DeadLetterQuery): Promise<DeadLetterPage>;
  get(id: string): Promise<DeadLetterView>;
  /** Appends the message again to its original topic with its original key and headers; 404 / 400 (no origin). */
  retry(id: string, by: string): Promise<DeadLetterView>;
  retryMany(ids: string[], by: string): Promise<BatchRetryResult>;
  /** Removes a dead letter, keeping it in the discard archive with who, when and why. */
  discard(id: string, reason: string, by: string): Promise<{ message: string; message_id: string }>;
  stats(): Promise<DeadLetterStats>;
}

export interface DeadLetterServiceDeps {
  store: DeadLetterStore;
  log: EventLog;
  now?: () => Date;
}

const OWN_HEADERS: ReadonlySet<string> = new Set(Object.values(DEAD_LETTER_HEADERS));

/** A record of the dead-letter topic → the stored dead letter. Never throws: a malformed header becomes null. */
export function deadLetterFromRecord(record: LogRecord, failedAt: Date): DeadLetter {
  const headers = Object.fromEntries(Object.entries(record.headers).filter(([name]) => !OWN_HEADERS.has(name)));
  const header = (name: string): string | null => record.headers[name] ?? null;
  const event = parseJson(record.value);
  const field = (name: string): string | null => {
    const value = event !== null && typeof event === 'object' ? (event as Record<string, unknown>)[name] : undefined;
    return typeof value === 'string' ? value : null;
  };
  return {
    id: `${record.partition}-${record.offset}`,
    status: 'pending',
    original_topic: header(DEAD_LETTER_HEADERS.topic),
    original_partition: integer(header(DEAD_LETTER_HEADERS.partition)),
    original_offset: integer(header(DEAD_LETTER_HEADERS.offset)),
    consumer_group: header(DEAD_LETTER_HEADERS.group),
    key: record.key,
    payload: record.value,
    headers,
    event_id: field('event_id'),
    event_type: field('event_type') ?? headers['event_type'] ?? null,
    error: header(DEAD_LETTER_HEADERS.error) ?? 'unknown error',
    attempts: integer(header(DEAD_LETTER_HEADERS.attempts)) ?? 0,
    failed_at: failedAt.toISOString(),
    dlq_partition: record.partition,
    dlq_offset: record.offset,
    retry_count: 0,
    retried_at: null,
    retried_by: null,
  };
}

/** The dead-letter service on the shared document store and the event log (answers the same from any node). */
export function createDeadLetterService(deps: DeadLetterServiceDeps): DeadLetterService {
  const now = deps.now ?? (() => new Date());
  const view = (letter: DeadLetter): DeadLetterView => {
    const { id, ...rest } = letter;
    return { message_id: id, ...rest, event: parseJson(letter.payload), age_seconds: ageSeconds(letter.failed_at, now()) };
  };
  const found = async (id: string): Promise<DeadLetter> => {
    const letter = await deps.store.get(id);
    if (!letter) throw errors.notFound('Dead letter');
    return letter;
  };

  const retry = async (id: string, by: string): Promise<DeadLetterView> => {
    const letter = await found(id);
    if (!letter.original_topic) throw errors.invalidState('This dead letter does not say which topic it came from');
    await deps.log.append(letter.original_topic, letter.key, letter.payload, letter.headers);
    const updated = await deps.store.update(id, {
      status: 'retried',
      retry_count: letter.retry_count + 1,
      retried_at: now().toISOString(),
      retried_by: by,
    });
    return view(updated ?? letter);
  };

  return {
    ingest: (record) => deps.store.add(deadLetterFromRecord(record, now())),

    async list(q) {
      const filter: Filter = {};
      if (q.status) filter['status'] = q.status;
      if (q.topic) filter['original_topic'] = q.topic;
      if (q.eventType) filter['event_type'] = q.eventType;
      if (q.consumerGroup) filter['consumer_group'] = q.consumerGroup;
      const [rows, total] = await Promise.all([
        deps.store.find(filter, { sort: { failed_at: -1 }, limit: q.limit, skip: q.offset }),
        deps.store.count(filter),
      ]);
      return { messages: rows.map(view), total, offset: q.offset, limit: q.limit };
    },

    get: async (id) => view(await found(id)),

    retry,

    async retryMany(ids, by) {
      const details: RetryOutcome[] = [];
      for (const id of new Set(ids)) {
        try {
          await retry(id, by);
          details.push({ message_id: id, status: 'retried' });
        } catch (err) {
          details.push({ message_id: id, status: 'failed', error: err instanceof Error ? err.message : String(err) });
        }
      }
      const successful = details.filter((d) => d.status === 'retried').length;
      return { total: details.length, successful, failed: details.length - successful, details };
    },

    async discard(id, reason, by) {
      await deps.store.discard(await found(id), by, reason);
      return { message: `Message ${id} discarded`, message_id: id };
    },

    async stats() {
      const [pending, retried, oldest] = await Promise.all([
        deps.store.count({ status: 'pending' }),
        deps.store.count({ status: 'retried' }),
        deps.store.oldestPending(),
      ]);
      return {
        depth: pending,
        oldest_age_seconds: oldest ? ageSeconds(oldest.failed_at, now()) : 0,
        by_status: { pending, retried },
      };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function integer(value: string | null): number | null {
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

function ageSeconds(iso: string, at: Date): number {
  return Math.max(0, Math.round((at.getTime() - Date.parse(iso)) / 1000));
}
