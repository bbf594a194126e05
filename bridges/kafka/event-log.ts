/**
 * The EventLog on Apache Kafka (kafkajs): the event log and the partitioned router of cluster mode.
 *
 * - Topics are created on first use (append or consume) with `partitions` partitions, and checked: a topic that
 *   already exists with another partition count is an error, since keys would land elsewhere than partitionOf says.
 * - append() puts a key in partition `partitionOf(key, partitions)` (Kafka's murmur2, what kafkajs'
 *   DefaultPartitioner and the Java client pick too), through one idempotent producer (acks = all, one request in
 *   flight, so retries neither duplicate nor reorder), and resolves when the broker acked. Appends made while a
 *   request is in flight go out together in the next one.
 * - consume() runs a consumer-group member: see member.ts for exactly what it guarantees.
 * - Reconnection is kafkajs': requests are retried (`clientRetry`), a consumer that crashes is restarted, nothing
 *   throws into the event loop. append() rejects when Kafka stays unreachable past the retries; ping() rejects
 *   within `pingTimeoutMs`.
 */
import { Kafka, Partitioners, type Admin, type Message, type Producer, type RetryOptions } from 'kafkajs';
import { partitionOf } from '../../system/domain/partition.js';
import {
  asError,
  checkRecord,
  checkRetry,
  checkTopic,
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_TOPIC,
  DEFAULT_RETRY,
  recordProblems,
  type Consumer,
  type EventLog,
  type NewLogRecord,
  type RetryPolicy,
} from '../../system/ports/event-log.js';
import { messagingMetrics } from '../../system/telemetry/instruments.js';
import { consumerLag, type GroupTopics } from './lag.js';
import { describeError, kafkajsLogging, STDERR_LOGGER, type KafkaLogger } from './logger.js';
import { DEFAULT_TUNING, startMember, type ConsumerTuning, type MemberContext } from './member.js';
import { installProduceEncoder } from './install-produce-encoder.js';
import { headersToKafka } from './records.js';
import { Sender } from './sender.js';
import { withTimeout } from '../../system/util/with-timeout.js';

export type { KafkaLogger } from './logger.js';
export type { ConsumerTuning } from './member.js';

/** Settings of the Kafka event log; `brokers` and `partitions` are required. */
export interface KafkaEventLogOptions {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  /** Shown in the broker's logs and quotas; default `integr8s`. */
  clientId?: string;
  /**
   * Keeps deployments sharing a broker apart: every topic is `<namespace>.<topic>` on the broker and every
   * consumer group `<namespace>.<group>`, while callers keep using the plain names. Default: none.
   */
  namespace?: string;
  /** Partitions per topic: topics are created with it, and `log.partitions` is it. */
  partitions: number;
  /** Replication factor of the topics this log creates; default 1 (a single local broker). */
  replicationFactor?: number;
  /** How a failing record is retried before it is dead-lettered; default the embedded log's DEFAULT_RETRY. */
  retry?: RetryPolicy;
  /** Consumer-group settings; see ConsumerTuning. */
  consumer?: Partial<ConsumerTuning>;
  /** kafkajs' retry of a failed request (connections, leaders moving); default ~13 s of attempts. */
  clientRetry?: RetryOptions;
  /** How long ping() waits for the cluster's answer; default 3 000 ms. */
  pingTimeoutMs?: number;
  /** TCP connect timeout, default 3 000 ms. */
  connectionTimeoutMs?: number;
  /** Per-request timeout, default 30 000 ms. */
  requestTimeoutMs?: number;
  /** Receives the adapter's warnings and errors and kafkajs' error lines; without it only faults go to stderr. */
  logger?: KafkaLogger;
}

const DEFAULT_CLIENT_RETRY: RetryOptions = { initialRetryTime: 100, maxRetryTime: 2_000, retries: 10 };
/** How long a topic this log created may take to show up with leaders in the cluster's metadata. */
const TOPIC_READY_TIMEOUT_MS = 30_000;
const NO_PROBLEMS: ReadonlyMap<string, Error> = new Map();

/** The EventLog on a Kafka cluster. Connections are opened on first use; close() ends them and every consumer. */
export function createKafkaEventLog(options: KafkaEventLogOptions): EventLog {
  const { partitions } = options;
  if (!Number.isSafeInteger(partitions) || partitions < 1) throw new Error('partitions must be a positive integer');
  if (options.brokers.length === 0) throw new Error('at least one broker is needed');
  const retry = options.retry ?? DEFAULT_RETRY;
  checkRetry(retry);
  const replicationFactor = options.replicationFactor ?? 1;
  const pingTimeoutMs = options.pingTimeoutMs ?? 3_000;
  const logger = options.logger ?? STDERR_LOGGER;
  if (!installProduceEncoder()) {
    logger.warn({}, 'kafkajs is not the version the fast produce encoder was written for: producing with its own, slower encoder');
  }
  const clientRetry = { ...DEFAULT_CLIENT_RETRY, ...options.clientRetry };
  const ns = options.namespace ?? '';
  if (ns) checkTopic(ns);
  const physical = (name: string): string => (ns ? `${ns}.${name}` : name);
  const logical = (name: string): string => (ns && name.startsWith(`${ns}.`) ? name.slice(ns.length + 1) : name);

  const kafka = new Kafka({
    clientId: options.clientId ?? 'integr8s',
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    retry: clientRetry,
    ...kafkajsLogging(options.logger),
  });

  const admin = lazyClient(() => kafka.admin({ retry: clientRetry }));
  const producer = lazyClient(() =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: clientRetry,
    }),
  );
  const sender = new Sender(() => producer.get());
  const topics = new Map<string, Promise<void>>();
  /** Topics (broker names) created or checked by this log: appends to them need not wait. */
  const readyTopics = new Set<string>();
  const members = new Set<Consumer>();
  /** The groups of running members and their topics (broker names), for lag(). */
  const running = new Map<Consumer, GroupTopics>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('event log is closed');
  };

  /** Creates the topic once per log (an existing one is fine) and checks its partition count. */
  const ensureTopic = (topic: string): Promise<void> => {
    let known = topics.get(topic);
    if (!known) {
      known = (async () => {
        const client = await admin.get();
        // Not kafkajs' waitForLeaders: it gives up on the UNKNOWN_TOPIC_OR_PARTITION a KRaft broker answers
        // until the new topic has reached its metadata cache.
        await client.createTopics({
          topics: [{ topic, numPartitions: partitions, replicationFactor }],
          waitForLeaders: false,
        });
        await awaitLeaders(client, topic, partitions, TOPIC_READY_TIMEOUT_MS);
        readyTopics.add(topic);
      })();
      topics.set(topic, known);
      known.catch(() => topics.delete(topic));
    }
    return known;
  };

  /**
   * Hands appends to the Sender in call order per topic once their topics (broker names) exist: a call still waiting
   * for a topic holds back the later calls to that topic (not to others), so a key's records keep their order across
   * append and appendMany. `enqueue` gets the topics that could not be made ready.
   */
  const admissions = new Map<string, { pending: number; last: Promise<void> }>();
  const admit = <T>(onBroker: Iterable<string>, enqueue: (problems: ReadonlyMap<string, Error>) => Promise<T>): Promise<T> => {
    const needed = [...onBroker];
    if (needed.every((topic) => readyTopics.has(topic) && !admissions.has(topic))) return enqueue(NO_PROBLEMS);
    const previous = needed.map((topic) => admissions.get(topic)?.last);
    let result!: Promise<T>;
    const admitted = (async () => {
      await Promise.all(previous);
      const problems = new Map<string, Error>();
      await Promise.all(needed.map((topic) => ensureTopic(topic).catch((error: unknown) => void problems.set(topic, asError(error)))));
      for (const topic of needed) {
        const admission = admissions.get(topic)!;
        if (--admission.pending === 0) admissions.delete(topic);
      }
      result = enqueue(problems);
    })();
    for (const topic of needed) {
      const admission = admissions.get(topic) ?? { pending: 0, last: admitted };
      admission.pending++;
      admission.last = admitted;
      admissions.set(topic, admission);
    }
    return admitted.then(() => result);
  };

  const send = (topic: string, key: string, value: string, headers: Record<string, string>): Promise<void> =>
    admit([topic], (problems) => {
      const problem = problems.get(topic);
      if (problem) return Promise.reject(problem);
      return sender.send(topic, { key, value, headers: headersToKafka(headers), partition: partitionOf(key, partitions) });
    });

  /** Sends the valid records (`results` null) in one go, in order; fills in `results` as appendMany answers. */
  const sendMany = (records: readonly NewLogRecord[], results: Array<Error | null>): Promise<Array<Error | null>> => {
    const used = new Set<string>();
    records.forEach((r, i) => {
      if (!results[i]) used.add(physical(r.topic));
    });
    return admit(used, async (problems) => {
      const entries: Array<{ topic: string; message: Message; index: number }> = [];
      records.forEach((r, i) => {
        if (results[i]) return;
        const topic = physical(r.topic);
        const problem = problems.get(topic);
        if (problem) results[i] = problem;
        else entries.push({ topic, message: { key: r.key, value: r.value, headers: headersToKafka(r.headers ?? {}), partition: partitionOf(r.key, partitions) }, index: i });
      });
      const sent = await sender.sendMany(entries);
      const counts = new Map<string, number>();
      entries.forEach(({ index }, k) => {
        const error = sent[k] ?? null;
        results[index] = error;
        const { topic } = records[index]!;
        if (!error) counts.set(topic, (counts.get(topic) ?? 0) + 1);
      });
      for (const [topic, n] of counts) messagingMetrics.sent('kafka', topic, n);
      return results;
    });
  };

  const context: MemberContext = {
    kafka,
    retry,
    tuning: { ...DEFAULT_TUNING, ...options.consumer },
    clientRetry,
    logger,
    deadLetter: (record, error, group, attempts) =>
      send(physical(DEAD_LETTER_TOPIC), record.key, record.value, {
        ...record.headers,
        [DEAD_LETTER_HEADERS.topic]: logical(record.topic),
        [DEAD_LETTER_HEADERS.partition]: String(record.partition),
        [DEAD_LETTER_HEADERS.offset]: String(record.offset),
        [DEAD_LETTER_HEADERS.error]: describeError(error),
        [DEAD_LETTER_HEADERS.attempts]: String(attempts),
        [DEAD_LETTER_HEADERS.group]: logical(group),
      }),
  };

  return {
    partitions,
    async append(topic, key, value, headers = {}) {
      ensureOpen();
      checkTopic(topic);
      checkRecord(key, value, headers);
      await send(physical(topic), key, value, headers);
      messagingMetrics.sent('kafka', topic);
    },
    async appendMany(records) {
      ensureOpen();
      return sendMany(records, recordProblems(records));
    },
    async consume(consumerOptions, handler) {
      ensureOpen();
      const { topics: names } = consumerOptions;
      if (names.length === 0) throw new Error('consume needs at least one topic');
      names.forEach(checkTopic);
      const onBroker = [...new Set(names.map(physical))];
      await Promise.all(onBroker.map(ensureTopic));
      ensureOpen();
      const { group } = consumerOptions;
      const member = await startMember(context, { ...consumerOptions, group: physical(group), topics: onBroker }, (record) => {
        const topic = logical(record.topic);
        messagingMetrics.consumed('kafka', topic, group);
        return handler(ns ? { ...record, topic } : record);
      });
      let stopping: Promise<void> | undefined;
      const tracked: Consumer = {
        stop() {
          stopping ??= member.stop().finally(() => {
            members.delete(tracked);
            running.delete(tracked);
          });
          return stopping;
        },
      };
      members.add(tracked);
      running.set(tracked, { group: physical(group), topics: onBroker });
      if (closed) {
        // close() ran while this member was starting, so it did not stop it.
        await tracked.stop();
        throw new Error('event log is closed');
      }
      return tracked;
    },
    async lag() {
      if (closed || running.size === 0) return [];
      const answer = admin.get().then((client) => consumerLag(client, [...running.values()], logical));
      return withTimeout(answer, pingTimeoutMs, `Kafka did not answer the lag query within ${pingTimeoutMs} ms`);
    },
    async ping() {
      ensureOpen();
      const answer = admin.get().then((client) => client.describeCluster());
      await withTimeout(answer, pingTimeoutMs, `Kafka did not answer within ${pingTimeoutMs} ms`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...members].map((member) => member.stop()));
      await sender.drain();
      await Promise.allSettled([producer.close(), admin.close()]);
    },
  };
}

/** A kafkajs client connected on first use; a failed connection is tried afresh next time. */
function lazyClient<T extends Admin | Producer>(make: () => T): { get(): Promise<T>; close(): Promise<void> } {
  let ready: Promise<T> | undefined;
  return {
    get() {
      if (!ready) {
        const client = make();
        const connecting = client.connect().then(
          () => client,
          async (error: unknown) => {
            ready = undefined;
            await client.disconnect().catch(() => {});
            throw error;
          },
        );
        ready = connecting;
      }
      return ready;
    },
    async close() {
      const pending = ready;
      ready = undefined;
      if (!pending) return;
      const client = await pending.catch(() => undefined);
      await client?.disconnect();
    },
  };
}

/**
 * Waits until the topic's metadata shows `partitions` partitions, each with a leader; rejects at once when it has
 * another partition count, and after `timeoutMs` when it never gets there.
 */
async function awaitLeaders(admin: Admin, topic: string, partitions: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let problem = 'no metadata yet';
  for (;;) {
    try {
      const { topics: [metadata] } = await admin.fetchTopicMetadata({ topics: [topic] });
      const found = metadata?.partitions ?? [];
      if (found.length > 0 && found.length !== partitions) {
        throw new TopicMismatchError(
          `topic '${topic}' has ${found.length} partitions, this event log needs ${partitions}`,
        );
      }
      if (found.length === partitions && found.every((partition) => partition.leader >= 0)) return;
      problem = 'partitions without a leader';
    } catch (error) {
      if (error instanceof TopicMismatchError || (error as { retriable?: boolean }).retriable === false) throw error;
      problem = describeError(error);
    }
    if (Date.now() >= deadline) throw new Error(`topic '${topic}' was not ready within ${timeoutMs} ms: ${problem}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

class TopicMismatchError extends Error {
  override name = 'TopicMismatchError';
}


