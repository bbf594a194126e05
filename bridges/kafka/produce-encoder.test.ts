/**
 * The produce encoder writes exactly the bytes kafkajs' own encoder writes (compared byte for byte, with the clock
 * fixed), and only for requests it can take; kafkajs keeps the others. Real brokers read its output in the EventLog
 * contract suite (bridges/kafka/event-log.contract.test.ts).
 */
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installProduceEncoder, produceEncoderInstalled } from './install-produce-encoder.js';
import { canEncode, encodeProduceBody, type ProduceArgs } from './produce-encoder.js';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long.js') as { fromInt(n: number): { value: bigint } };
type RequestOf = (args: ProduceArgs) => { encode(): Promise<{ buffer: Buffer; buf: Buffer }> };
/** kafkajs' own Produce request builders, by version (the modules the encoder leaves untouched). */
const kafkajsRequest = (version: number): RequestOf => require(`kafkajs/src/protocol/requests/produce/v${version}/request.js`) as RequestOf;
const definition = require('kafkajs/src/protocol/requests/produce/index.js') as {
  protocol(o: { version: number }): (args: ProduceArgs) => { request: { encode(): Promise<{ buffer: Buffer; buf: Buffer }> } };
};

const NOW = Date.UTC(2026, 10, 27, 8, 0, 0);

/** A request with what the adapter sends and the corners around it. */
function request(): ProduceArgs {
  return {
    acks: -1,
    timeout: 30_000,
    producerId: Long.fromInt(4242),
    producerEpoch: 3,
    topicData: [
      {
        topic: 'execution_events',
        partitions: [
          {
            partition: 0,
            firstSequence: 17,
            messages: [
              { key: 'exec-1', value: '{"event_type":"execution_queued"}', headers: { event_type: 'execution_queued', 'x-replay-session': 's-1' } },
              { key: 'exec-1', value: JSON.stringify({ text: 'ünïcödé ✓ '.repeat(40) }), headers: { 'ünï': 'cödé ✓', empty: '' } },
              { key: 'k'.repeat(200), value: 'v'.repeat(70_000), headers: { long: 'h'.repeat(300) } },
            ],
          },
          {
            partition: 7,
            messages: Array.from({ length: 150 }, (_, i) => ({ key: `exec-${i}`, value: `{"i":${i}}`, headers: { n: String(i) } })),
          },
        ],
      },
      {
        topic: 'execution_commands',
        partitions: [
          {
            partition: 3,
            firstSequence: 0,
            messages: [
              { key: null, value: 'no key' },
              { key: Buffer.from([0, 1, 2, 255]), value: Buffer.from('bytes ✓'), headers: { raw: Buffer.from([9, 8]), twice: ['a', Buffer.from('b')] } },
              { key: 'k', value: null, headers: {} },
              { value: '' },
            ],
          },
        ],
      },
    ],
  };
}

describe('produce encoder', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the bytes kafkajs writes, for every Produce version it replaces', async () => {
    const args = request();
    expect(canEncode(args)).toBe(true);
    const ours = encodeProduceBody(args, NOW);
    for (const version of [3, 4, 5, 6, 7]) {
      const theirs = (await kafkajsRequest(version)(request()).encode()).buffer;
      expect(ours.equals(theirs), `version ${version}`).toBe(true);
    }
  });

  it('writes the transactional id and flag as kafkajs does', async () => {
    const args = { ...request(), transactionalId: 'tx-ünï' };
    const theirs = (await kafkajsRequest(3)({ ...request(), transactionalId: 'tx-ünï' }).encode()).buffer;
    expect(encodeProduceBody(args, NOW).equals(theirs)).toBe(true);
  });

  it('leaves to kafkajs what it does not take: compression, message timestamps, other value types', () => {
    const one = (message: object, compression?: number): ProduceArgs => ({
      acks: -1,
      timeout: 1000,
      ...(compression === undefined ? {} : { compression }),
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [message as never] }] }],
    });
    expect(canEncode(one({ key: 'k', value: 'v' }))).toBe(true);
    expect(canEncode(one({ key: 'k', value: 'v' }, 1))).toBe(false);
    expect(canEncode(one({ key: 'k', value: 'v', timestamp: '1700000000000' }))).toBe(false);
    expect(canEncode(one({ key: 'k', value: 42 }))).toBe(false);
    expect(canEncode(one({ key: 'k', value: 'v', headers: { h: 1 } }))).toBe(false);
    expect(canEncode(one({ key: 'k', value: 'v', headers: { h: ['a', null] } }))).toBe(false);
  });

  it('once installed, kafkajs encodes Produce v3+ with it, and with its own encoder what it does not take', async () => {
    expect(installProduceEncoder()).toBe(true);
    expect(installProduceEncoder()).toBe(true);
    expect(produceEncoderInstalled()).toBe(true);
    const after = await definition.protocol({ version: 7 })(request()).request.encode();
    expect(after.buffer.equals(encodeProduceBody(request(), NOW))).toBe(true);
    // Which encoder wrote it shows in the buffer behind it: kafkajs grows its own by powers of two, ours is measured.
    const kafkajs = (await kafkajsRequest(7)(request()).encode()) as { buffer: Buffer; buf: Buffer };
    expect(kafkajs.buf.length).toBeGreaterThan(kafkajs.buffer.length);
    expect(after.buf.length).toBe(after.buffer.length);

    const timed = request();
    timed.topicData[0]!.partitions[0]!.messages[0]!.timestamp = String(NOW - 5);
    expect(canEncode(timed)).toBe(false);
    const installed = (await definition.protocol({ version: 7 })(timed).request.encode()).buffer;
    const original = (await kafkajsRequest(7)(timed).encode()).buffer;
    expect(installed.equals(original)).toBe(true);
  });
});
