/** Shared by the Kafka adapter's tests: quick consumer settings, and logs and topics that are cleaned up. */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { EventLog } from '../../system/ports/event-log.js';
import { kafkaBrokers } from '../../test/support/infra.js';
import { createKafkaEventLog, type KafkaEventLogOptions } from './event-log.js';
import type { ConsumerTuning } from './member.js';

/**
 * Session 6 s is the smallest a stock broker accepts (group.min.session.timeout.ms); heartbeats, and so the
 * noticing of a rebalance, every 200 ms.
 */
export const TEST_TUNING: Partial<ConsumerTuning> = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 200,
  rebalanceTimeoutMs: 5_000,
  maxWaitMs: 100,
};

/** Opens Kafka event logs on the test broker and removes, at cleanup, the topics and groups they were given. */
export class KafkaTestLogs {
  readonly topics = new Set<string>();
  readonly groups = new Set<string>();
  private readonly opened: EventLog[] = [];

  private constructor(readonly brokers: string[]) {}

  static async create(): Promise<KafkaTestLogs> {
    return new KafkaTestLogs((await kafkaBrokers()).split(','));
  }

  /** A fresh, unique topic or group name that cleanup removes. */
  topic(prefix = 'unit'): string {
    const name = `${prefix}-${randomUUID().slice(0, 8)}`;
    this.topics.add(name);
    return name;
  }

  group(prefix = 'g'): string {
    const name = `${prefix}-${randomUUID().slice(0, 8)}`;
    this.groups.add(name);
    return name;
  }

  open(options: Partial<KafkaEventLogOptions> = {}): EventLog {
    const log = createKafkaEventLog({
      brokers: this.brokers,
      clientId: `unit-${randomUUID().slice(0, 8)}`,
      partitions: 16,
      consumer: TEST_TUNING,
      ...options,
    });
    this.opened.push(log);
    return log;
  }

  /** A kafkajs admin on the test broker (the caller disconnects it). */
  async admin(): Promise<Admin> {
    const admin = new Kafka({ clientId: 'unit-admin', brokers: this.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    return admin;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.opened.map((log) => log.close()));
    const admin = await this.admin();
    try {
      if (this.groups.size > 0) await admin.deleteGroups([...this.groups]).catch(() => {});
      // Only topics that exist: kafkajs retries the deletion of an unknown topic for seconds.
      const existing = new Set(await admin.listTopics());
      const topics = [...this.topics].filter((topic) => existing.has(topic));
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    } finally {
      await admin.disconnect();
    }
  }
}
