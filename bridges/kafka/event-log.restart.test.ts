/**
 * The Kafka event log across a broker restart: appends and a consumer keep going, nothing acked is lost, order per
 * key holds, and nothing rejects into the event loop (vitest fails the run on an unhandled rejection).
 *
 * It stops and starts a broker, so it never uses the shared test broker: it runs its own with
 * deploy/local/kafka/start in a private state directory (same ports across the restart), sharing the main local
 * broker's jar install. It needs Java and Maven like deploy/local does, whatever KAFKA_BROKERS says.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { delay, waitFor } from '../../test/support/wait.js';
import { createKafkaEventLog } from './event-log.js';
import { TEST_TUNING } from './event-log.fixture.js';

const run = promisify(execFile);
const script = (name: string): string => fileURLToPath(new URL(`../../deploy/local/kafka/${name}`, import.meta.url));
/** The main local broker's state root, as deploy/local/lib.sh computes it: its jar install is shared. */
const LOCAL_ROOT =
  process.env.INTEGR8S_LOCAL_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'integr8s-local');

describe('Kafka event log across a broker restart', () => {
  let dir: TempDir;
  let env: NodeJS.ProcessEnv;

  const start = async (): Promise<string> => {
    const { stdout } = await run(script('start'), [], { env, timeout: 600_000 }).catch((error: { stderr?: string }) => {
      throw new Error(`deploy/local/kafka/start failed: ${error.stderr?.slice(-2_000) ?? String(error)}`);
    });
    const line = stdout.split('\n').find((text) => text.startsWith('KAFKA_BROKERS='));
    if (!line) throw new Error(`deploy/local/kafka/start printed no KAFKA_BROKERS line:\n${stdout}`);
    return line.slice('KAFKA_BROKERS='.length).trim();
  };
  const stop = async (...args: string[]): Promise<void> => {
    await run(script('stop'), args, { env, timeout: 60_000 });
  };

  beforeAll(async () => {
    dir = await createTempDir('integr8s-kafka-restart-');
    env = { ...process.env, INTEGR8S_LOCAL_DIR: dir.path, KAFKA_CACHE_DIR: join(LOCAL_ROOT, 'kafka', 'cache') };
  });
  afterAll(async () => {
    await stop('--wipe').catch(() => {});
    await dir.cleanup();
  });

  it('keeps appending and consuming through a stop and start, losing nothing acked, in order', async () => {
    const address = await start();
    const log = createKafkaEventLog({
      brokers: [address],
      partitions: 4,
      consumer: TEST_TUNING,
      pingTimeoutMs: 1_000,
      logger: { warn() {}, error() {} },
    });
    const topic = 'restart';
    const acked: string[] = [];
    const seen: string[] = [];
    const ownership: string[] = [];
    await log.append(topic, 'k', 'v-0');
    acked.push('v-0');
    const consumer = await log.consume(
      {
        group: 'restart-group',
        topics: [topic],
        onAssigned: (partitions) => void ownership.push(`+${partitions.length}`),
        onRevoked: (partitions) => void ownership.push(`-${partitions.length}`),
      },
      async (record) => void seen.push(record.value),
    );

    let appending = true;
    let next = 1;
    const appender = (async () => {
      while (appending) {
        const value = `v-${next++}`;
        // During the outage an append may fail after kafkajs' retries; only acked ones must arrive.
        await log.append(topic, 'k', value).then(
          () => void acked.push(value),
          () => {},
        );
        await delay(20);
      }
    })();

    await waitFor(() => seen.length >= 20, { message: 'traffic before the restart' });
    await stop();
    await expect(log.ping()).rejects.toThrow();
    await delay(1_000);
    expect(await start()).toBe(address);
    const countAtRestart = acked.length;
    await waitFor(() => acked.length >= countAtRestart + 20, {
      timeoutMs: 60_000,
      message: 'appends after the restart',
    });
    appending = false;
    await appender;
    await waitFor(() => acked.every((value) => seen.includes(value)), {
      timeoutMs: 60_000,
      message: 'every acked record consumed',
    });
    await expect(log.ping()).resolves.toBeUndefined();

    // At-least-once: a record may come twice; first deliveries are in append order.
    const firsts = seen.filter((value, index) => seen.indexOf(value) === index);
    const numbers = firsts.map((value) => Number(value.slice(2)));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(ownership[0]).toBe('+4');

    await consumer.stop();
    await log.close();
  }, 300_000);
});
