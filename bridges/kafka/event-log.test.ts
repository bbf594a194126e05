/**
 * What the Kafka EventLog does beyond the shared contract, against the real test broker: headers both ways, a group
 * split between members (co-partitioned, with the gains and losses each member is told about), topics of the
 * wrong size, paused partitions, an unreachable broker.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import type { LogRecord } from '../../system/ports/event-log.js';
import { collect, keysInDistinctPartitions, series } from '../../test/contracts/event-log.support.js';
import { delay, waitFor } from '../../test/support/wait.js';
import { createKafkaEventLog } from './event-log.js';
import { KafkaTestLogs, TEST_TUNING } from './event-log.fixture.js';
import { produceEncoderInstalled } from './install-produce-encoder.js';
import { headersFromKafka } from './records.js';

describe('Kafka event log: headers', () => {
  it('reads Buffers as UTF-8, keeps the last of repeated headers, turns null into an empty string', () => {
    const headers = headersFromKafka({
      plain: Buffer.from('välue'),
      repeated: [Buffer.from('first'), Buffer.from('last')],
      text: 'already a string',
      empty: Buffer.alloc(0),
      missing: undefined,
    });
    expect(headers).toEqual({ plain: 'välue', repeated: 'last', text: 'already a string', empty: '', missing: '' });
  });

  it('keeps a header named __proto__ as an ordinary entry', () => {
    const headers = headersFromKafka(JSON.parse('{"__proto__": "p"}') as Record<string, string>);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.entries(headers)).toEqual([['__proto__', 'p']]);
  });
});

describe('Kafka event log (real broker)', () => {
  let logs: KafkaTestLogs;

  beforeEach(async () => {
    logs = await KafkaTestLogs.create();
  });
  afterEach(async () => {
    await logs.cleanup();
  });

  it('round-trips headers: non-ASCII text, empty values, names special to JavaScript objects', async () => {
    const log = logs.open();
    const topic = logs.topic();
    const sent = JSON.parse(
      '{"trace-id": "abc", "ünï": "cödé ✓", "empty": "", "__proto__": "p", "constructor": "c", "x-long": "' +
        'y'.repeat(10_000) +
        '"}',
    ) as Record<string, string>;
    await log.append(topic, 'k', 'v', sent);
    await log.append(topic, 'k', 'none');
    const collector = await collect(log, { group: logs.group(), topics: [topic] });
    await waitFor(() => collector.records.length === 2, { message: 'both records' });
    const [first, second] = collector.records as [LogRecord, LogRecord];
    expect(Object.entries(first.headers).sort()).toEqual(Object.entries(sent).sort());
    expect(second.headers).toEqual({});
    await collector.consumer.stop();
  });

  it('refuses a topic that exists with another partition count', async () => {
    const topic = logs.topic();
    const admin = await logs.admin();
    try {
      // Without kafkajs' waitForLeaders, which fails on the broker's brief "unknown topic" after a creation.
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: false });
    } finally {
      await admin.disconnect();
    }
    const log = logs.open();
    await expect(log.append(topic, 'k', 'v')).rejects.toThrow(/has 3 partitions, this event log needs 16/);
    await expect(log.consume({ group: logs.group(), topics: [topic] }, async () => {})).rejects.toThrow(/3 partitions/);
  });

  it('splits a group: partition p of every topic to one member; each is told what it gained and lost', async () => {
    const [first, second] = [logs.topic(), logs.topic()];
    const group = logs.group();
    const handled: { member: string; record: LogRecord }[] = [];
    const start = async (name: string) => {
      const calls = { assigned: [] as number[][], revoked: [] as number[][] };
      const consumer = await logs.open().consume(
        {
          group,
          topics: [first, second],
          onAssigned: (partitions) => void calls.assigned.push(partitions),
          onRevoked: (partitions) => void calls.revoked.push(partitions),
        },
        async (record) => void handled.push({ member: name, record }),
      );
      return { consumer, calls };
    };
    const all = series('', 16).map((_, index) => index);

    const one = await start('one');
    expect(one.calls.assigned).toEqual([all]);

    const two = await start('two');
    await waitFor(() => two.calls.assigned.length === 1 && one.calls.revoked.length === 1, {
      message: 'the rebalance',
    });
    const moved = two.calls.assigned[0]!;
    expect(one.calls.revoked).toEqual([moved]);
    expect(moved).toHaveLength(8);

    const keys = keysInDistinctPartitions(16, 16);
    await Promise.all(keys.flatMap((key) => [first, second].map((topic) => logs.open().append(topic, key, key))));
    await waitFor(() => handled.length === 32, { message: 'a record in every partition of both topics' });
    for (const { member, record } of handled) {
      expect(record.partition).toBe(partitionOf(record.key, 16));
      expect(member).toBe(moved.includes(record.partition) ? 'two' : 'one');
    }

    await two.consumer.stop();
    expect(two.calls.revoked).toEqual([moved]);
    await waitFor(() => one.calls.assigned.length === 2, { message: 'the partitions to come back' });
    expect(one.calls.assigned[1]).toEqual(moved);
    expect(one.calls.revoked).toEqual([moved]);
    await one.consumer.stop();
    expect(one.calls.revoked).toEqual([moved, all]);
  });

  it('pauses a partition whose queue is full and still delivers every record once, in order', async () => {
    const log = logs.open({ consumer: { ...TEST_TUNING, maxBufferedPerPartition: 4 } });
    const topic = logs.topic();
    const values = series('v', 60);
    await Promise.all(values.map((value) => log.append(topic, 'k', value)));
    const collector = await collect(log, { group: logs.group(), topics: [topic] }, () => delay(2));
    await waitFor(() => collector.records.length === values.length, { message: 'every record' });
    await delay(200);
    expect(collector.values()).toEqual(values);
    await collector.consumer.stop();
  });

  it('rejects ping and append when no broker answers, within their timeouts', async () => {
    const log = createKafkaEventLog({
      brokers: ['127.0.0.1:9'],
      partitions: 4,
      pingTimeoutMs: 1_000,
      connectionTimeoutMs: 200,
      clientRetry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
      logger: { warn() {}, error() {} },
    });
    const started = Date.now();
    await expect(log.ping()).rejects.toThrow();
    await expect(log.append('nowhere', 'k', 'v')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    const [failed] = await log.appendMany([{ topic: 'nowhere', key: 'k', value: 'v' }]);
    expect(failed).toBeInstanceOf(Error);
    await log.close();
  });

  it('produces with the fast produce encoder once a log is made', () => {
    logs.open();
    expect(produceEncoderInstalled()).toBe(true);
  });

  it('does not hold appends to a ready topic behind the creation of another', async () => {
    const log = logs.open();
    const ready = logs.topic();
    await log.append(ready, 'k', 'first');
    const order: string[] = [];
    const created = log.appendMany([{ topic: logs.topic(), key: 'k', value: 'new topic' }]).then(() => order.push('new topic'));
    const plain = log.append(ready, 'k', 'second').then(() => order.push('ready topic'));
    await Promise.all([created, plain]);
    expect(order).toEqual(['ready topic', 'new topic']);
  });

  it('appendMany: a record the broker refuses fails alone, the others of the batch are appended in order', async () => {
    const log = logs.open();
    const topic = logs.topic();
    const tooLarge = 'x'.repeat(2 * 1024 * 1024); // over the broker's message.max.bytes (1 MiB)
    const results = await log.appendMany([
      { topic, key: 'k', value: 'before' },
      { topic, key: 'k', value: tooLarge },
      { topic, key: 'k', value: 'after' },
    ]);
    expect(results[0]).toBeNull();
    expect(results[1]).toBeInstanceOf(Error);
    expect(results[2]).toBeNull();
    const collector = await collect(log, { group: logs.group(), topics: [topic] });
    await waitFor(() => collector.records.length === 2, { message: 'the two records the broker took' });
    await delay(300);
    expect(collector.values()).toEqual(['before', 'after']);
    await collector.consumer.stop();
  });

  it('rejects calls after close', async () => {
    const log = logs.open();
    await log.close();
    await expect(log.append(logs.topic(), 'k', 'v')).rejects.toThrow('closed');
    await expect(log.appendMany([{ topic: logs.topic(), key: 'k', value: 'v' }])).rejects.toThrow('closed');
    await expect(log.ping()).rejects.toThrow('closed');
  });
});

describe('Kafka event log: namespaces (real broker)', () => {
  let logs: KafkaTestLogs;

  beforeEach(async () => {
    logs = await KafkaTestLogs.create();
  });
  afterEach(async () => {
    await logs.cleanup();
  });

  it('keeps two namespaces apart on one broker, under the same topic and group names, dead letters included', async () => {
    const [nsA, nsB] = [logs.topic('nsa'), logs.topic('nsb')];
    const topic = 'shared-name';
    for (const ns of [nsA, nsB]) {
      for (const name of [topic, 'dead_letters']) logs.topics.add(`${ns}.${name}`);
      logs.groups.add(`${ns}.workers`);
    }
    const a = logs.open({ namespace: nsA, retry: { attempts: 1, initialMs: 1, factor: 1, maxMs: 1 } });
    const b = logs.open({ namespace: nsB });
    await a.append(topic, 'k', 'from-a');
    await b.append(topic, 'k', 'from-b');
    const gotA = await collect(a, { group: 'workers', topics: [topic] });
    const gotB = await collect(b, { group: 'workers', topics: [topic] });
    await waitFor(() => gotA.records.length === 1 && gotB.records.length === 1, { message: 'one record each' });
    await delay(300);
    expect(gotA.records.map((r) => [r.topic, r.value])).toEqual([[topic, 'from-a']]);
    expect(gotB.records.map((r) => [r.topic, r.value])).toEqual([[topic, 'from-b']]);
    await gotA.consumer.stop();
    await gotB.consumer.stop();

    // A record that fails lands in the namespace's own dead-letter topic, naming the plain topic it came from.
    await a.append(topic, 'k', 'poison');
    const failing = await a.consume({ group: 'failing', topics: [topic] }, async (record) => {
      if (record.value === 'poison') throw new Error('cannot handle poison');
    });
    logs.groups.add(`${nsA}.failing`);
    const dead = await collect(a, { group: 'dlq-reader', topics: ['dead_letters'] });
    logs.groups.add(`${nsA}.dlq-reader`);
    await waitFor(() => dead.records.length === 1, { timeoutMs: 30_000, message: 'the dead letter' });
    expect(dead.records[0]).toMatchObject({ topic: 'dead_letters', value: 'poison', headers: { original_topic: topic, error: expect.stringContaining('poison') } });
    const admin = await logs.admin();
    try {
      const names = await admin.listTopics();
      expect(names).toContain(`${nsA}.dead_letters`);
      expect(names).not.toContain(`${nsB}.dead_letters`);
    } finally {
      await admin.disconnect();
    }
    await failing.stop();
    await dead.consumer.stop();
  }, 60_000);
});
