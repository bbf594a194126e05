/**
 * One consumer-group member of the Kafka EventLog.
 *
 * How it works. kafkajs fetches and manages the group (join, sync, heartbeats, reconnects); this module only
 * queues what kafkajs fetched. Each owned topic-partition has a *lane*: an in-memory queue and a loop that hands its
 * records to the handler strictly in order, one at a time, and commits `offset + 1` after each record was handled
 * or dead-lettered. kafkajs' `eachBatch` callback only appends to the lane and returns, so the fetch loop never
 * waits for a handler, and heartbeats go on however long a handler takes. (kafkajs' `eachMessage`, even with
 * `partitionsConsumedConcurrently`, waits for every partition of a fetch before it fetches again: with one broker,
 * one slow handler would stall all partitions; measured, not guessed.) autoCommit is off; kafkajs' own offset
 * bookkeeping only moves its fetch position. A lane holding `maxBufferedPerPartition` records pauses its
 * partition's fetching until it is half empty.
 *
 * Guarantees (these are what the EventLog contract checks, and what callers may rely on):
 * - At-least-once. An offset is committed only after its record's handler resolved, or after the record was
 *   appended (acked) to DEAD_LETTER_TOPIC. A record can be delivered again (after a crash, a failed commit or a
 *   rebalance); it is never skipped. The next record's handler does not wait for the previous commit's round
 *   trip: a lane's commits go out one at a time, merged (only the highest offset matters), never backwards; a
 *   failed commit is repeated with the next record or after the next group join. stop(), close() and a
 *   revocation wait for a lane's last commit to settle.
 * - Order. Within a partition the handler sees records in offset order, never two at once in this member.
 * - Retries. A failing record is retried per the RetryPolicy (same semantics as the embedded log: `attempts`
 *   counts the first try; backoff `initialMs`, times `factor`, capped at `maxMs`), then dead-lettered with its own
 *   headers plus DEAD_LETTER_HEADERS, committed, and the partition moves on. If the dead-letter append itself fails
 *   (Kafka down), it is retried with backoff; the partition waits.
 * - Interrupted records. A record whose handler fails while its lane is closing (stop, close, revocation, crash)
 *   is neither retried nor dead-lettered nor committed: it is delivered again to whoever owns the partition next.
 * - onAssigned(p) is called with partition numbers newly owned (in at least one subscribed topic; the
 *   co-partitioning assigner makes that all of them) and returns before any record of those partitions is handed
 *   to the handler. onRevoked(p) is called with numbers no longer owned, after the in-flight record of every lost
 *   lane finished; records queued but not started are dropped (they were not committed). Calls never overlap and
 *   keep their order (revocations of a rebalance before its assignments). consume() resolves after the first
 *   join, its onAssigned, and the first fetch round (what the log held at the join is then queued and started,
 *   before anything appended after consume() resolved); if the first join fails, kafkajs joins again later.
 * - stop() closes every lane, waits for the in-flight records, calls onRevoked with everything owned, then leaves
 *   the group (kafkajs LeaveGroup), so the group rebalances at once, not after a session timeout.
 *
 * What is NOT guaranteed (Kafka's classic "eager" protocol through kafkajs gives no hook before rejoining):
 * during a rebalance kafkajs rejoins at once, while a lane that is losing its partition may still be running its
 * in-flight record. The new owner then starts from the committed offset and may handle that same record at the
 * same time. onRevoked still comes only after the record finished here. Handlers are idempotent (by event id), so
 * the overlap costs a duplicate, not a wrong result. The same holds after a consumer crash: kafkajs left the
 * group, so a crash counts as losing every partition (onRevoked(all)); when kafkajs has joined again,
 * onAssigned reports what this member owns then.
 *
 * Crashes. kafkajs restarts a consumer that crashed with a retriable error (a broker restart) by itself
 * (`retry.restartOnFailure`); after a non-retriable crash this module starts a fresh kafkajs consumer with a
 * backoff (1 s doubling to 30 s). Nothing here throws into the event loop.
 */
import type { Consumer as KafkaConsumer, EachBatchPayload, Kafka, RetryOptions } from 'kafkajs';
import { checkRetry, retryWait, type Consumer, type ConsumerOptions, type LogRecord, type RecordHandler, type RetryPolicy } from '../../system/ports/event-log.js';
import { coPartitionAssigner, diffOwnership, ownedPartitions, type TopicAssignment } from './assignment.js';
import { messagingMetrics } from '../../system/telemetry/instruments.js';
import { describeError, type KafkaLogger } from './logger.js';
import { recordFromKafka } from './records.js';

/** Consumer settings; the defaults favour quick group joins and fast reaction to rebalances. */
export interface ConsumerTuning {
  /**
   * The broker drops a member it has not heard from for this long; the broker's group.min.session.timeout.ms
   * (6 s on a stock broker) and group.max.session.timeout.ms bound it.
   */
  sessionTimeoutMs: number;
  /** How often a member heartbeats, which is also how soon it notices a rebalance. */
  heartbeatIntervalMs: number;
  /** How long the broker waits for members to rejoin during a rebalance. */
  rebalanceTimeoutMs: number;
  /** Longest a fetch waits at the broker for new records. */
  maxWaitMs: number;
  /** Records a partition may have queued in memory before its fetching pauses. */
  maxBufferedPerPartition: number;
}

export const DEFAULT_TUNING: ConsumerTuning = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 10_000,
  maxWaitMs: 100,
  maxBufferedPerPartition: 500,
};

/** What a member needs from the log that created it. */
export interface MemberContext {
  kafka: Kafka;
  retry: RetryPolicy;
  tuning: ConsumerTuning;
  /** kafkajs' retry of requests (a consumer that exhausts it crashes and is restarted). */
  clientRetry: RetryOptions;
  /** Appends a record that failed `attempts` times in the handler of consumer group `group` to the dead-letter topic; resolves when acked. */
  deadLetter(record: LogRecord, error: unknown, group: string, attempts: number): Promise<void>;
  logger: KafkaLogger;
}

type Outcome = 'handled' | 'dead' | 'interrupted';

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const DEAD_LETTER_BACKOFF_MAX_MS = 5_000;

/** Starts a member; resolves once it joined the group and onAssigned returned (or the first join failed). */
export async function startMember(
  context: MemberContext,
  options: ConsumerOptions,
  handler: RecordHandler,
): Promise<Consumer> {
  const member = new Member(context, options, handler);
  await member.start();
  return { stop: () => member.stop() };
}

export function laneKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

/** What a lane needs from its member. */
interface LaneHost {
  handler: RecordHandler;
  retry: RetryPolicy;
  highWater: number;
  logger: KafkaLogger;
  deadLetter(record: LogRecord, error: unknown): Promise<void>;
  /** Commits `offset` (the next offset to read) for the partition; rejects when the commit failed. */
  commit(topic: string, partition: number, offset: number): Promise<void>;
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
}

/** One topic-partition's queue and the loop that handles it in order. */
class Lane {
  private readonly queue: LogRecord[] = [];
  /** The offset after the last record queued: kafkajs may fetch a record again after a rebalance. */
  private next: number | undefined;
  private closed = false;
  private paused = false;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  /** The highest offset asked to be committed, and the highest known committed. */
  private wanted: number | undefined;
  private committed: number | undefined;
  private committing: Promise<void> | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Resolves when onAssigned for this partition returned. */
    private readonly ready: Promise<void>,
    private readonly host: LaneHost,
  ) {}

  push(records: LogRecord[]): void {
    if (this.closed) return;
    for (const record of records) {
      if (this.next !== undefined && record.offset < this.next) continue;
      this.queue.push(record);
      this.next = record.offset + 1;
    }
    if (!this.paused && this.queue.length >= this.host.highWater) {
      this.paused = true;
      this.host.pause(this.topic, this.partition);
    }
    if (this.queue.length > 0 && !this.running) this.running = this.run();
  }

  /**
   * Stops taking records, drops the queued ones, interrupts retry waits; resolves when the in-flight record is done
   * and its commit settled.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.abort.abort();
    await this.running;
    await this.committing;
  }

  /** Commits again an offset whose commit failed. */
  settle(): Promise<void> {
    if (this.wanted === undefined || (this.committed !== undefined && this.wanted <= this.committed)) {
      return Promise.resolve();
    }
    return this.commit(this.wanted);
  }

  private async run(): Promise<void> {
    try {
      await this.ready;
      while (!this.closed) {
        const record = this.queue.shift();
        if (!record) break;
        if (this.paused && this.queue.length <= this.host.highWater / 2) {
          this.paused = false;
          this.host.resume(this.topic, this.partition);
        }
        const outcome = await this.deliver(record);
        if (outcome === 'interrupted') break;
        // Not awaited: the next record starts while the commit is on its way (commits stay in order).
        void this.commit(record.offset + 1);
      }
    } catch (error) {
      const details = { topic: this.topic, partition: this.partition, error: describeError(error) };
      this.host.logger.error(details, 'partition loop failed');
    }
    // Set in the same turn as the last look at the queue, so a push after it starts a new loop.
    this.running = undefined;
  }

  /** Hands one record to the handler with retries; dead-letters it when every attempt failed. */
  private async deliver(record: LogRecord): Promise<Outcome> {
    const { retry } = this.host;
    let delayMs = retry.initialMs;
    let lastError: unknown;
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      try {
        await this.host.handler(record);
        return 'handled';
      } catch (error) {
        lastError = error;
      }
      if (this.closed) return 'interrupted';
      if (attempt === retry.attempts) break;
      if (!(await sleep(retryWait(retry, delayMs), this.abort.signal))) return 'interrupted';
      delayMs = Math.min(delayMs * retry.factor, retry.maxMs);
    }
    let backoffMs = 100;
    for (;;) {
      try {
        await this.host.deadLetter(record, lastError);
        this.host.logger.warn(
          { topic: record.topic, partition: record.partition, offset: record.offset, error: describeError(lastError) },
          'record dead-lettered',
        );
        return 'dead';
      } catch (error) {
        this.host.logger.error(
          { topic: record.topic, partition: record.partition, offset: record.offset, error: describeError(error) },
          'could not dead-letter a record; trying again',
        );
      }
      if (this.closed || !(await sleep(backoffMs, this.abort.signal))) return 'interrupted';
      backoffMs = Math.min(backoffMs * 2, DEAD_LETTER_BACKOFF_MAX_MS);
    }
  }

  /**
   * Asks for `offset` to be committed. One commit request at a time per lane; offsets asked for meanwhile are
   * merged into the next request (only the highest matters), and the committed offset never moves backwards.
   * Resolves when the highest offset asked for so far is committed, or its commit failed (remembered for settle,
   * never thrown).
   */
  private commit(offset: number): Promise<void> {
    if (this.wanted === undefined || offset > this.wanted) this.wanted = offset;
    this.committing ??= this.flushCommits();
    return this.committing;
  }

  private async flushCommits(): Promise<void> {
    // Yield once, so commit() has stored this promise before the loop can finish and clear it.
    await Promise.resolve();
    while (this.wanted !== undefined && (this.committed === undefined || this.wanted > this.committed)) {
      const offset = this.wanted;
      try {
        await this.host.commit(this.topic, this.partition, offset);
        this.committed = Math.max(offset, this.committed ?? offset);
      } catch (error) {
        this.host.logger.warn(
          { topic: this.topic, partition: this.partition, offset, error: describeError(error) },
          'offset commit failed; it is retried with the next record or after the next group join',
        );
        break;
      }
    }
    // In the same turn as the loop's last look, so a commit asked for after it starts a new flush.
    this.committing = undefined;
  }
}

class Member {
  private readonly lanes = new Map<string, Lane>();
  private owned: number[] = [];
  private transitions: Promise<void> = Promise.resolve();
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private current: KafkaConsumer | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = RESTART_MIN_MS;
  private readonly host: LaneHost;
  /** Resolves when the first fetch round after the first join was handed to the lanes (or the consumer crashed). */
  private readonly firstRound = settleable();

  constructor(
    private readonly context: MemberContext,
    private readonly options: ConsumerOptions,
    handler: RecordHandler,
  ) {
    if (options.retry) checkRetry(options.retry);
    const retry = options.retry ?? context.retry;
    this.host = {
      handler,
      retry,
      highWater: Math.max(2, context.tuning.maxBufferedPerPartition),
      logger: context.logger,
      deadLetter: (record, error) => context.deadLetter(record, error, options.group, retry.attempts),
      commit: async (topic, partition, offset) => {
        const consumer = this.current;
        if (!consumer) throw new Error('no running consumer');
        await consumer.commitOffsets([{ topic, partition, offset: String(offset) }]);
      },
      pause: (topic, partition) => this.pause([{ topic, partitions: [partition] }]),
      resume: (topic, partition) => this.resume([{ topic, partitions: [partition] }]),
    };
  }

  /**
   * Joins, runs onAssigned, and waits for the first fetch round to be queued (records already in the log when the
   * member joined are then in their lanes, started before anything appended after consume() resolved), or for a
   * crash, or a few fetch waits at most.
   */
  async start(): Promise<void> {
    await this.spawn();
    await this.transitions;
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.context.tuning.maxWaitMs * 4 + 2_000);
    });
    await Promise.race([this.firstRound.promise, patience]);
    clearTimeout(timer);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      clearTimeout(this.restartTimer);
      this.reassign({});
      // Nothing more to fetch: the lanes take no records now.
      this.pause(this.options.topics.map((topic) => ({ topic })));
      await this.transitions;
      const consumer = this.current;
      this.current = undefined;
      await consumer?.disconnect().catch((error: unknown) => {
        const details = { group: this.options.group, error: describeError(error) };
        this.context.logger.warn(details, 'consumer disconnect failed');
      });
    })();
    return this.stopped;
  }

  /** Creates and runs a kafkajs consumer; rejects when it cannot connect or subscribe. */
  private async spawn(): Promise<void> {
    const { tuning, clientRetry } = this.context;
    const consumer = this.context.kafka.consumer({
      groupId: this.options.group,
      partitionAssigners: [coPartitionAssigner],
      sessionTimeout: tuning.sessionTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      maxWaitTimeInMs: tuning.maxWaitMs,
      allowAutoTopicCreation: false,
      retry: { ...clientRetry, restartOnFailure: async () => !this.stopping },
    });
    this.current = consumer;
    // Fetches started per broker since the last join: a node's second fetch starts after its first one's batches
    // were handed over (kafkajs waits for them), and all nodes start their first fetch together.
    const fetches = new Map<number, number>();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (consumer !== this.current || this.stopping) return;
      messagingMetrics.rebalanced('kafka', this.options.group);
      fetches.clear();
      this.restartDelayMs = RESTART_MIN_MS;
      this.reassign(payload.memberAssignment);
    });
    consumer.on(consumer.events.FETCH_START, ({ payload }) => {
      if (consumer !== this.current) return;
      fetches.set(payload.nodeId, (fetches.get(payload.nodeId) ?? 0) + 1);
      if ([...fetches.values()].every((count) => count >= 2)) this.firstRound.resolve();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (consumer !== this.current || this.stopping) return;
      this.context.logger.warn(
        { group: this.options.group, error: describeError(payload.error), restart: payload.restart },
        'consumer crashed',
      );
      // kafkajs has left the group by now: every partition is lost until it joins again.
      this.firstRound.resolve();
      this.reassign({});
      if (!payload.restart) this.scheduleRestart();
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.onBatch(consumer, payload),
      });
    } catch (error) {
      if (this.current === consumer) this.current = undefined;
      await consumer.disconnect().catch(() => {});
      throw error;
    }
  }

  private scheduleRestart(): void {
    clearTimeout(this.restartTimer);
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(delayMs * 2, RESTART_MAX_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.spawn().catch((error: unknown) => {
        const details = { group: this.options.group, error: describeError(error) };
        this.context.logger.error(details, 'consumer restart failed');
        if (!this.stopping) this.scheduleRestart();
      });
    }, delayMs);
  }

  private async onBatch(consumer: KafkaConsumer, { batch, resolveOffset }: EachBatchPayload): Promise<void> {
    if (consumer !== this.current || this.stopping) return;
    const last = batch.messages[batch.messages.length - 1];
    if (!last) return;
    let lane = this.lanes.get(laneKey(batch.topic, batch.partition));
    if (!lane) {
      // kafkajs fetches only what it was assigned, and reports every assignment first; should that ever not
      // hold, the partition is taken on like an assignment rather than skipped.
      const assignment = this.assignment();
      (assignment[batch.topic] ??= []).push(batch.partition);
      this.reassign(assignment);
      lane = this.lanes.get(laneKey(batch.topic, batch.partition));
    }
    lane?.push(batch.messages.map((message) => recordFromKafka(batch.topic, batch.partition, message)));
    // Only moves kafkajs' fetch position; commits are the lanes' business.
    resolveOffset(last.offset);
  }

  /** The topic-partitions that have lanes now. */
  private assignment(): TopicAssignment {
    const assignment: TopicAssignment = {};
    for (const lane of this.lanes.values()) (assignment[lane.topic] ??= []).push(lane.partition);
    return assignment;
  }

  /**
   * Makes the lanes match `assignment` at once (lost lanes close, gained lanes are created waiting for their
   * onAssigned), and queues the callbacks: onRevoked(lost numbers) after the lost lanes' in-flight records,
   * then onAssigned(gained numbers). Retained lanes keep running and commit again what failed to commit.
   */
  private reassign(assignment: TopicAssignment): void {
    const { topics } = this.options;
    const wanted = new Set<string>();
    for (const topic of topics) for (const partition of assignment[topic] ?? []) wanted.add(laneKey(topic, partition));

    const closing: Promise<void>[] = [];
    for (const [key, lane] of this.lanes) {
      if (wanted.has(key)) continue;
      this.lanes.delete(key);
      closing.push(lane.close());
      this.resume([{ topic: lane.topic, partitions: [lane.partition] }]);
    }
    const retained = [...this.lanes.values()];

    const owned = ownedPartitions(assignment, topics);
    const { gained, lost } = diffOwnership(this.owned, owned);
    this.owned = owned;

    const transition = this.transitions.then(async () => {
      await Promise.all(closing);
      if (lost.length > 0) await this.notify('onRevoked', lost);
      if (gained.length > 0) await this.notify('onAssigned', gained);
    });
    this.transitions = transition;

    for (const topic of topics) {
      for (const partition of assignment[topic] ?? []) {
        const key = laneKey(topic, partition);
        if (this.lanes.has(key)) continue;
        this.lanes.set(key, new Lane(topic, partition, transition, this.host));
        this.resume([{ topic, partitions: [partition] }]);
      }
    }
    void transition.then(() => Promise.all(retained.map((lane) => lane.settle())));
  }

  private async notify(callback: 'onAssigned' | 'onRevoked', partitions: number[]): Promise<void> {
    try {
      await this.options[callback]?.(partitions);
    } catch (error) {
      const details = { group: this.options.group, partitions, error: describeError(error) };
      this.context.logger.error(details, `${callback} failed`);
    }
  }

  private pause(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    try {
      this.current?.pause(topicPartitions);
    } catch {
      // No running kafkajs consumer (between a crash and its restart): nothing is fetched anyway.
    }
  }

  private resume(topicPartitions: { topic: string; partitions?: number[] }[]): void {
    try {
      this.current?.resume(topicPartitions);
    } catch {
      // As in pause.
    }
  }
}

function settleable(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Waits `ms`; resolves false at once when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
