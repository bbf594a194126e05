/**
 * The EventLog contract: every adapter (embedded SQLite, Kafka) must pass it unchanged. Topics and groups get
 * fresh names; a new group starts from the beginning of a topic. Waits poll with generous deadlines.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import { DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, type EventLog } from '../../system/ports/event-log.js';
import { delay, gate, waitFor } from '../support/wait.js';
import { appendAll, collect, freshName, keysInDistinctPartitions, series } from './event-log.support.js';

/** A log to test, a way to open it again on the same storage (a restarted node), and disposal of both. */
export interface EventLogFixture {
  log: EventLog;
  /** Opens a new client on the same storage; the old one may already be closed. */
  reopen(): Promise<EventLog>;
  cleanup(): Promise<void>;
}

/** Registers the EventLog contract tests for one adapter. */
export function eventLogContract(name: string, make: () => Promise<EventLogFixture>): void {
  describe(`EventLog contract: ${name}`, () => {
    let fixture: EventLogFixture;
    let log: EventLog;
    let topic: string;

    beforeEach(async () => {
      fixture = await make();
      log = fixture.log;
      topic = freshName('topic');
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('answers ping and has at least one partition', async () => {
      await expect(log.ping()).resolves.toBeUndefined();
      expect(log.partitions).toBeGreaterThanOrEqual(1);
    });

    it('delivers records appended before and after the consumer started, with all their fields', async () => {
      await log.append(topic, 'k1', '{"a":1}', { 'trace-id': 'abc', note: 'ünï' });
      const collector = await collect(log, { group: freshName('g'), topics: [topic] });
      await log.append(topic, 'k2', '{"b":2}');
      await waitFor(() => collector.records.length === 2, { message: 'two records' });
      const [first, second] = collector.records;
      expect(first).toMatchObject({ topic, key: 'k1', value: '{"a":1}', headers: { 'trace-id': 'abc', note: 'ünï' } });
      expect(first?.partition).toBe(partitionOf('k1', log.partitions));
      expect(second).toMatchObject({ topic, key: 'k2', value: '{"b":2}', partition: partitionOf('k2', log.partitions) });
      expect(Number.isInteger(first?.offset)).toBe(true);
      await collector.consumer.stop();
    });

    it('puts a key in the same partition every time, the one partitionOf names', async () => {
      const keys = ['exec-1', 'exec-2', 'exec-3', 'exec-4'];
      for (let round = 0; round < 5; round++) for (const key of keys) await log.append(topic, key, `${key}/${round}`);
      const collector = await collect(log, { group: freshName('g'), topics: [topic] });
      await waitFor(() => collector.records.length === 20, { message: '20 records' });
      for (const record of collector.records) expect(record.partition).toBe(partitionOf(record.key, log.partitions));
      await collector.consumer.stop();
    });

    it('appends a batch with appendMany: each record once, in its key\'s partition, in the order given, with its headers', async () => {
      const other = freshName('topic');
      const keys = ['exec-a', 'exec-b', 'exec-c', 'exec-d', 'exec-e'];
      const records = Array.from({ length: 400 }, (_, i) => ({
        topic: i % 3 === 0 ? other : topic,
        key: keys[i % keys.length]!,
        value: JSON.stringify({ i, text: 'ünï ✓'.repeat(i % 7) }),
        headers: { n: String(i), note: 'cödé' },
      }));
      await expect(log.appendMany(records)).resolves.toEqual(records.map(() => null));
      const collector = await collect(log, { group: freshName('g'), topics: [topic, other] });
      await waitFor(() => collector.records.length === records.length, { message: `${records.length} records` });
      for (const record of collector.records) {
        const sent = records[Number(record.headers['n'])]!;
        expect(record).toMatchObject({ topic: sent.topic, key: sent.key, value: sent.value, headers: sent.headers, partition: partitionOf(sent.key, log.partitions) });
      }
      expect(new Set(collector.records.map((r) => r.headers['n'])).size).toBe(records.length);
      for (const t of [topic, other]) {
        for (const key of keys) {
          const got = collector.records.filter((r) => r.topic === t && r.key === key).map((r) => Number(r.headers['n']));
          const given = records.flatMap((r, i) => (r.topic === t && r.key === key ? [i] : []));
          expect(got).toEqual(given);
        }
      }
      await collector.consumer.stop();
    });

    it('keeps the call order of append and appendMany made together on one key', async () => {
      const calls = [
        log.append(topic, 'k', 'one'),
        log.appendMany([{ topic, key: 'k', value: 'two' }, { topic, key: 'k', value: 'three' }]),
        log.append(topic, 'k', 'four'),
        log.appendMany([{ topic, key: 'k', value: 'five' }]),
      ];
      await Promise.all(calls);
      const collector = await collect(log, { group: freshName('g'), topics: [topic] });
      await waitFor(() => collector.records.length === 5, { message: 'five records' });
      expect(collector.values()).toEqual(['one', 'two', 'three', 'four', 'five']);
      await collector.consumer.stop();
    });

    it('reports an invalid record of appendMany alone and appends the others; an empty batch answers []', async () => {
      const results = await log.appendMany([
        { topic, key: 'k', value: 'first' },
        { topic: 'not a topic!', key: 'k', value: 'bad topic' },
        { topic, key: 'k', value: 42 as unknown as string },
        { topic, key: 'k', value: 'last', headers: { h: 1 as unknown as string } },
        { topic, key: 'k', value: 'second' },
      ]);
      expect(results.map((r) => r?.message ?? null)).toEqual([
        null,
        "invalid topic name 'not a topic!'",
        'key and value must be strings',
        "header 'h' must be a string",
        null,
      ]);
      const collector = await collect(log, { group: freshName('g'), topics: [topic] });
      await waitFor(() => collector.records.length === 2, { message: 'the two valid records' });
      await delay(200);
      expect(collector.values()).toEqual(['first', 'second']);
      await expect(log.appendMany([])).resolves.toEqual([]);
      await collector.consumer.stop();
    });

    it('handles each partition strictly in order, one record at a time', async () => {
      const keys = keysInDistinctPartitions(3, log.partitions);
      await Promise.all(keys.map((key) => appendAll(log, topic, key, series(key, 40))));
      const inFlight = new Map<number, number>();
      let overlap = false;
      const collector = await collect(log, { group: freshName('g'), topics: [topic] }, async (record) => {
        const now = (inFlight.get(record.partition) ?? 0) + 1;
        inFlight.set(record.partition, now);
        if (now > 1) overlap = true;
        await delay(record.offset % 3);
        inFlight.set(record.partition, now - 1);
      });
      await waitFor(() => collector.records.length === keys.length * 40, { message: 'all records' });
      expect(overlap).toBe(false);
      for (const key of keys) {
        const handled = collector.records.filter((record) => record.key === key);
        expect(handled.map((record) => record.value)).toEqual(series(key, 40));
        const offsets = handled.map((record) => record.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      }
      await collector.consumer.stop();
    });

    it('keeps other partitions moving while one handler is busy', async () => {
      if (log.partitions < 2) return;
      const [slowKey, fastKey] = keysInDistinctPartitions(2, log.partitions) as [string, string];
      const hold = gate();
      const collector = await collect(log, { group: freshName('g'), topics: [topic] }, async (record) => {
        if (record.key === slowKey) await hold.promise;
      });
      await log.append(topic, slowKey, 'slow');
      await log.append(topic, fastKey, 'fast');
      await waitFor(() => collector.values().includes('fast'), { message: 'the other partition' });
      expect(collector.values()).toEqual(['fast']);
      hold.resolve();
      await waitFor(() => collector.records.length === 2, { message: 'the held record' });
      await collector.consumer.stop();
    });

    it('reports how far each running group is behind, per partition, until it caught up', async () => {
      const group = freshName('g');
      const hold = gate();
      const collector = await collect(log, { group, topics: [topic] }, () => hold.promise);
      for (let i = 0; i < 3; i++) await log.append(topic, 'lagging', `r${i}`);
      const partition = partitionOf('lagging', log.partitions);
      const ofGroup = async () => (await log.lag()).filter((l) => l.group === group && l.topic === topic);
      await waitFor(async () => (await ofGroup()).find((l) => l.partition === partition)?.lag === 3, { message: 'a lag of 3' });
      const lags = await ofGroup();
      expect(lags.map((l) => l.partition).sort((a, b) => a - b)).toEqual([...Array(log.partitions).keys()]);
      expect(lags.filter((l) => l.partition !== partition).every((l) => l.lag === 0)).toBe(true);
      hold.resolve();
      await waitFor(async () => (await ofGroup()).every((l) => l.lag === 0), { message: 'caught up' });
      await collector.consumer.stop();
      expect(await ofGroup()).toEqual([]);
    });

    it('assigns partitions before handling and revokes them on stop, after in-flight work', async () => {
      const events: string[] = [];
      const hold = gate();
      await log.append(topic, 'k', 'held');
      const consumer = await log.consume(
        {
          group: freshName('g'),
          topics: [topic],
          onAssigned: (partitions) => void events.push(`assigned:${partitions.length}`),
          onRevoked: (partitions) => void events.push(`revoked:${partitions.length}`),
        },
        async () => {
          events.push('started');
          await hold.promise;
          events.push('finished');
        },
      );
      await waitFor(() => events.includes('started'), { message: 'the handler to start' });
      let stopped = false;
      const stopping = consumer.stop().then(() => (stopped = true));
      await delay(50);
      expect(stopped).toBe(false);
      hold.resolve();
      await stopping;
      expect(events).toEqual([`assigned:${log.partitions}`, 'started', 'finished', `revoked:${log.partitions}`]);
    });

    it('gives every group every record', async () => {
      await appendAll(log, topic, 'k', series('v', 10));
      const groups = await Promise.all([1, 2, 3].map(() => collect(log, { group: freshName('g'), topics: [topic] })));
      for (const collector of groups) {
        await waitFor(() => collector.records.length === 10, { message: 'ten records per group' });
        expect(collector.values()).toEqual(series('v', 10));
        await collector.consumer.stop();
      }
    });

    it('consumes several topics with one member', async () => {
      const other = freshName('topic');
      await log.append(topic, 'k', 'from-first');
      await log.append(other, 'k', 'from-second');
      const collector = await collect(log, { group: freshName('g'), topics: [topic, other] });
      await waitFor(() => collector.records.length === 2, { message: 'both topics' });
      expect(collector.records.map((record) => record.topic).sort()).toEqual([topic, other].sort());
      await collector.consumer.stop();
    });

    it('resumes a restarted group right after its last handled record', async () => {
      const group = freshName('g');
      await appendAll(log, topic, 'k', series('a', 5));
      const first = await collect(log, { group, topics: [topic] });
      await waitFor(() => first.records.length === 5, { message: 'first run' });
      await first.consumer.stop();
      await appendAll(log, topic, 'k', series('b', 3));
      const second = await collect(log, { group, topics: [topic] });
      await waitFor(() => second.records.length === 3, { message: 'second run' });
      await delay(50);
      expect(second.values()).toEqual(series('b', 3));
      await second.consumer.stop();
    });

    it('delivers again a record whose handler was cut short by stop, without dead-lettering it', async () => {
      const group = freshName('g');
      await appendAll(log, topic, 'k', series('v', 5));
      const hold = gate();
      const first = await collect(log, { group, topics: [topic] }, async (record) => {
        if (record.value === 'v-2') await hold.promise;
      });
      await waitFor(() => first.records.length === 2, { message: 'v-0 and v-1' });
      const stopping = first.consumer.stop();
      hold.reject(new Error('interrupted by shutdown'));
      await stopping;
      expect(first.values()).toEqual(['v-0', 'v-1']);
      const second = await collect(log, { group, topics: [topic] });
      await waitFor(() => second.values().includes('v-4'), { message: 'the rest after restart' });
      expect(second.values().slice(second.values().indexOf('v-2'))).toEqual(['v-2', 'v-3', 'v-4']);
      await second.consumer.stop();
      await expectNoDeadLetter(log, topic);
    });

    it('delivers unhandled records again after a crash (close, then reopen)', async () => {
      const group = freshName('g');
      await appendAll(log, topic, 'k', series('v', 6));
      const hold = gate();
      const seen: string[] = [];
      await log.consume({ group, topics: [topic] }, async (record) => {
        seen.push(record.value);
        if (record.value === 'v-3') await hold.promise;
      });
      await waitFor(() => seen.includes('v-3'), { message: 'the consumer to reach v-3' });
      const closing = log.close();
      hold.reject(new Error('process died'));
      await closing;
      const reopened = await fixture.reopen();
      await appendAll(reopened, topic, 'k', ['v-6', 'v-7']);
      const after = await collect(reopened, { group, topics: [topic] });
      await waitFor(() => after.values().includes('v-7'), { message: 'records after reopening' });
      const values = after.values();
      expect(values.slice(values.indexOf('v-3'))).toEqual(series('v', 8).slice(3));
      expect(values.slice(0, values.indexOf('v-3')).every((value) => seen.includes(value))).toBe(true);
      await after.consumer.stop();
    });

    it('retries a failing record and moves on once it succeeds', async () => {
      let failures = 0;
      await appendAll(log, topic, 'k', ['flaky', 'next']);
      const collector = await collect(log, { group: freshName('g'), topics: [topic] }, async (record) => {
        if (record.value === 'flaky' && failures++ === 0) throw new Error('transient');
      });
      await waitFor(() => collector.records.length === 2, { message: 'both records' });
      expect(collector.values()).toEqual(['flaky', 'next']);
      await collector.consumer.stop();
      await expectNoDeadLetter(log, topic);
    });

    it('dead-letters a record that keeps failing, with its origin and error, and moves on', async () => {
      await log.append(topic, 'k', 'good-1');
      await log.append(topic, 'k', 'poison', { 'trace-id': 't-1' });
      await log.append(topic, 'k', 'good-2');
      let attempts = 0;
      let poisonOffset = -1;
      const group = freshName('g');
      const collector = await collect(log, { group, topics: [topic] }, async (record) => {
        if (record.value !== 'poison') return;
        attempts++;
        poisonOffset = record.offset;
        throw new Error(`poison pill #${attempts}`);
      });
      await waitFor(() => collector.values().includes('good-2'), { message: 'the record after the poison' });
      expect(collector.values()).toEqual(['good-1', 'good-2']);
      expect(attempts).toBeGreaterThanOrEqual(2);
      const letter = await findDeadLetter(log, topic);
      expect(letter).toMatchObject({ key: 'k', value: 'poison' });
      expect(letter.headers).toMatchObject({
        'trace-id': 't-1',
        [DEAD_LETTER_HEADERS.topic]: topic,
        [DEAD_LETTER_HEADERS.partition]: String(partitionOf('k', log.partitions)),
        [DEAD_LETTER_HEADERS.offset]: String(poisonOffset),
        [DEAD_LETTER_HEADERS.attempts]: String(attempts),
        [DEAD_LETTER_HEADERS.group]: group,
      });
      expect(letter.headers[DEAD_LETTER_HEADERS.error]).toContain(`poison pill #${attempts}`);
      await collector.consumer.stop();
    });

    it("retries by the consumer's own policy when it has one, and says so in the dead letter", async () => {
      await log.append(topic, 'k', 'poison');
      await log.append(topic, 'k', 'after');
      let attempts = 0;
      const group = freshName('g');
      const retry = { attempts: 5, initialMs: 1, factor: 1, maxMs: 1, jitter: 1 };
      const collector = await collect(log, { group, topics: [topic], retry }, async (record) => {
        if (record.value !== 'poison') return;
        attempts++;
        throw new Error(`attempt ${attempts}`);
      });
      await waitFor(() => collector.values().includes('after'), { message: 'the record after the poison' });
      expect(attempts).toBe(5);
      const letter = await findDeadLetter(log, topic);
      expect(letter.headers).toMatchObject({ [DEAD_LETTER_HEADERS.attempts]: '5', [DEAD_LETTER_HEADERS.group]: group });
      expect(letter.headers[DEAD_LETTER_HEADERS.error]).toContain('attempt 5');
      await collector.consumer.stop();
    });
  });
}

async function findDeadLetter(log: EventLog, topic: string) {
  const letters = await collect(log, { group: freshName('dlq'), topics: [DEAD_LETTER_TOPIC] });
  try {
    return await waitFor(
      () => letters.records.find((record) => record.headers[DEAD_LETTER_HEADERS.topic] === topic),
      { message: `a dead letter from ${topic}` },
    );
  } finally {
    await letters.consumer.stop();
  }
}

async function expectNoDeadLetter(log: EventLog, topic: string): Promise<void> {
  const marker = freshName('marker');
  await log.append(DEAD_LETTER_TOPIC, marker, 'marker');
  const letters = await collect(log, { group: freshName('dlq'), topics: [DEAD_LETTER_TOPIC] });
  try {
    // Everything dead-lettered before the marker is in its partition or another one read alongside it.
    await waitFor(() => letters.records.some((record) => record.key === marker), { message: 'the marker' });
    await delay(100);
    expect(letters.records.filter((record) => record.headers[DEAD_LETTER_HEADERS.topic] === topic)).toEqual([]);
  } finally {
    await letters.consumer.stop();
  }
}
