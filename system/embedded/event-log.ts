/**
 * The embedded EventLog: a durable append-only SQLite table partitioned like Kafka (same murmur2 partitioner),
 * with consumer groups whose committed offsets live in the same file. In one process a group has one member,
 * which owns every partition. Appends wake waiting consumers in this process at once; records appended by
 * another process on the same file are picked up within `pollMs`.
 */
import { partitionOf } from '../domain/partition.js';
import { asError, checkRecord, checkTopic, recordProblems, type Consumer, type ConsumerLag, type ConsumerOptions, type EventLog, type RecordHandler } from '../ports/event-log.js';
import { checkRetry, DEFAULT_RETRY, startMember, type MemberContext, type RetryPolicy } from './log-consumer.js';
import { messagingMetrics } from '../telemetry/instruments.js';
import { LogTables, type NewRecord } from './log-tables.js';
import { releaseDatabase, retainDatabase, type SqliteDb } from './sqlite.js';
import { partitionKey, Wakeup } from './wakeup.js';

/** Settings of the embedded event log; only `partitions` is required. */
export interface SqliteEventLogOptions {
  /** Partitions per topic, fixed when the file is created. */
  partitions: number;
  retry?: RetryPolicy;
  /** Longest a waiting consumer goes without looking for records appended by another process. */
  pollMs?: number;
  /** Records read per query while a consumer catches up. */
  batchSize?: number;
  /** Receives storage faults a consumer recovered from; defaults to a line on stderr. */
  onError?: (error: unknown) => void;
}

const DEFAULT_POLL_MS = 1_000;
const DEFAULT_BATCH_SIZE = 256;

/** One Wakeup per connection, so every log built on the same connection wakes the others' consumers. */
const wakeups = new WeakMap<SqliteDb, Wakeup>();

/** The EventLog over a SQLite connection; closing it stops its consumers and releases the connection. */
export function createSqliteEventLog(db: SqliteDb, options: SqliteEventLogOptions): EventLog {
  const { partitions } = options;
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw new Error('partitions must be a positive integer');
  checkRetry(options.retry ?? DEFAULT_RETRY);
  const tables = new LogTables(db, partitions);
  retainDatabase(db);
  const wakeup = wakeups.get(db) ?? new Wakeup();
  wakeups.set(db, wakeup);
  /** The groups with a member in this process, and their topics. */
  const groups = new Map<string, readonly string[]>();
  const members = new Set<Consumer>();
  let closed = false;

  const context: MemberContext = {
    tables,
    wakeup,
    partitions,
    retry: options.retry ?? DEFAULT_RETRY,
    pollMs: options.pollMs ?? DEFAULT_POLL_MS,
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    appended: (topic, partition) => wakeup.signal(partitionKey(topic, partition)),
    onError: options.onError ?? ((error) => console.error('event log consumer fault:', error)),
  };

  const commits = groupCommit(db, tables);

  const ensureOpen = (): void => {
    if (closed) throw new Error('event log is closed');
  };

  return {
    partitions,
    async append(topic, key, value, headers = {}) {
      ensureOpen();
      checkTopic(topic);
      checkRecord(key, value, headers);
      const partition = partitionOf(key, partitions);
      // Once this resolves the record is in the WAL and survives a killed process (see groupCommit).
      await commits.add([{ topic, partition, key, value, headers }]);
      context.appended(topic, partition);
      messagingMetrics.sent('embedded', topic);
    },
    async appendMany(records) {
      ensureOpen();
      const results = recordProblems(records);
      const valid: NewRecord[] = [];
      records.forEach((r, i) => {
        if (!results[i]) valid.push({ topic: r.topic, partition: partitionOf(r.key, partitions), key: r.key, value: r.value, headers: r.headers ?? {} });
      });
      if (valid.length === 0) return results;
      try {
        await commits.add(valid);
      } catch (error) {
        const failure = asError(error);
        return results.map((problem) => problem ?? failure);
      }
      const sent = new Map<string, number>();
      for (const r of valid) {
        context.appended(r.topic, r.partition);
        sent.set(r.topic, (sent.get(r.topic) ?? 0) + 1);
      }
      for (const [topic, n] of sent) messagingMetrics.sent('embedded', topic, n);
      return results;
    },
    async consume(consumerOptions: ConsumerOptions, handler: RecordHandler) {
      ensureOpen();
      const { group, topics } = consumerOptions;
      if (topics.length === 0) throw new Error('consume needs at least one topic');
      topics.forEach(checkTopic);
      if (groups.has(group)) throw new Error(`group '${group}' already has a member in this process`);
      groups.set(group, [...topics]);
      let member: Consumer;
      try {
        member = await startMember(context, consumerOptions, (record) => {
          messagingMetrics.consumed('embedded', record.topic, group);
          return handler(record);
        });
      } catch (error) {
        groups.delete(group);
        throw error;
      }
      // The one member of its group in this process joins once and owns every partition.
      messagingMetrics.rebalanced('embedded', group);
      let stopping: Promise<void> | undefined;
      const tracked: Consumer = {
        stop() {
          stopping ??= member.stop().finally(() => {
            members.delete(tracked);
            groups.delete(group);
          });
          return stopping;
        },
      };
      members.add(tracked);
      return tracked;
    },
    async lag() {
      const lags: ConsumerLag[] = [];
      for (const [group, topics] of groups) {
        for (const topic of topics) tables.lag(group, topic).forEach((lag, partition) => lags.push({ system: 'embedded', group, topic, partition, lag }));
      }
      return lags;
    },
    async ping() {
      ensureOpen();
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await Promise.allSettled([...members].map((member) => member.stop()));
      } finally {
        releaseDatabase(db);
      }
    },
  };
}



/**
 * Group commit: the appends made in one turn of the event loop are inserted in one transaction, in call order, so a
 * burst of appends (a replay's batch, a transition's events) costs one WAL write instead of one per record. Each
 * add() resolves once its transaction committed; a failed transaction rejects every add() in it.
 */
function groupCommit(db: SqliteDb, tables: LogTables): { add(records: NewRecord[]): Promise<void> } {
  let pending: Array<{ records: NewRecord[]; resolve: () => void; reject: (e: unknown) => void }> = [];
  const insertAll = db.transaction((records: NewRecord[]) => tables.appendMany(records));
  const flush = () => {
    const batch = pending;
    pending = [];
    try {
      if (batch.length === 1 && batch[0]!.records.length === 1) tables.append(batch[0]!.records[0]!);
      else insertAll.immediate(batch.length === 1 ? batch[0]!.records : batch.flatMap((b) => b.records));
    } catch (error) {
      for (const b of batch) b.reject(error);
      return;
    }
    for (const b of batch) b.resolve();
  };
  return {
    add: (records) =>
      new Promise<void>((resolve, reject) => {
        if (pending.length === 0) queueMicrotask(flush);
        pending.push({ records, resolve, reject });
      }),
  };
}
