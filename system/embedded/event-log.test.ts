import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { gate, waitFor } from '../../test/support/wait.js';
import { DEAD_LETTER_TOPIC, type EventLog, type LogRecord } from '../ports/event-log.js';
import { createSqliteEventLog, type SqliteEventLogOptions } from './event-log.js';
import { openDataDir } from './sqlite.js';

describe('embedded event log', () => {
  let dir: TempDir;
  const logs: EventLog[] = [];
  const open = (options: Partial<SqliteEventLogOptions> = {}): EventLog => {
    const log = createSqliteEventLog(openDataDir(dir.path), { partitions: 4, ...options });
    logs.push(log);
    return log;
  };

  beforeEach(async () => {
    dir = await createTempDir();
  });
  afterEach(async () => {
    await Promise.all(logs.splice(0).map((log) => log.close()));
    await dir.cleanup();
  });

  it('keeps records and committed offsets across closing and reopening the file', async () => {
    const first = open();
    for (let i = 0; i < 5; i++) await first.append('t', 'k', `v${i}`);
    const seen: string[] = [];
    const consumer = await first.consume({ group: 'g', topics: ['t'] }, async (record) => void seen.push(record.value));
    await waitFor(() => seen.length === 5);
    await consumer.stop();
    await first.append('t', 'k', 'v5');
    await first.close();
    const second = open();
    const after: LogRecord[] = [];
    await second.consume({ group: 'g', topics: ['t'] }, async (record) => void after.push(record));
    await waitFor(() => after.length === 1);
    expect(after[0]).toMatchObject({ value: 'v5', offset: 5 });
  });

  it('refuses to reopen a file with a different partition count', async () => {
    await open({ partitions: 4 }).close();
    expect(() => open({ partitions: 8 })).toThrow(/created with 4 partitions/);
  });

  it('rejects records it could not read back', async () => {
    const log = open();
    await expect(log.append('t', 'k', 'v', { n: 1 as unknown as string })).rejects.toThrow(/header 'n'/);
    await expect(log.append('bad topic!', 'k', 'v')).rejects.toThrow(/topic/);
  });

  it('allows one member per group in a process, and a new one after stop', async () => {
    const log = open();
    const member = await log.consume({ group: 'g', topics: ['t'] }, async () => {});
    await expect(log.consume({ group: 'g', topics: ['t'] }, async () => {})).rejects.toThrow(/already has a member/);
    await member.stop();
    await member.stop();
    const next = await log.consume({ group: 'g', topics: ['t'] }, async () => {});
    await next.stop();
  });

  it('backs off between attempts as the retry policy says, then dead-letters', async () => {
    const log = open({ retry: { attempts: 4, initialMs: 20, factor: 2, maxMs: 50 } });
    const attempts: number[] = [];
    await log.consume({ group: 'g', topics: ['t'] }, async () => {
      attempts.push(performance.now());
      throw new Error('always');
    });
    const letters: LogRecord[] = [];
    await log.consume({ group: 'dlq', topics: [DEAD_LETTER_TOPIC] }, async (record) => void letters.push(record));
    await log.append('t', 'k', 'bad');
    await waitFor(() => letters.length === 1);
    const gaps = attempts.slice(1).map((time, i) => time - attempts[i]!);
    expect(gaps).toHaveLength(3);
    [20, 40, 50].forEach((expected, i) => expect(gaps[i]).toBeGreaterThanOrEqual(expected - 2));
    expect(letters[0]?.headers).toMatchObject({ attempts: '4', error: 'Error: always', original_offset: '0' });
  });

  it('close stops consumers, waits for their handlers and revokes their partitions', async () => {
    const log = open();
    const hold = gate();
    const revoked: number[][] = [];
    let finished = false;
    await log.consume({ group: 'g', topics: ['t'], onRevoked: (p) => void revoked.push(p) }, async () => {
      await hold.promise;
      finished = true;
    });
    await log.append('t', 'k', 'v');
    setTimeout(() => hold.resolve(), 30);
    await log.close();
    expect(finished).toBe(true);
    expect(revoked).toEqual([[0, 1, 2, 3]]);
    await expect(log.append('t', 'k', 'late')).rejects.toThrow(/closed/);
    await expect(log.appendMany([{ topic: 't', key: 'k', value: 'late' }])).rejects.toThrow(/closed/);
  });

  it('writes the appends of one turn together, in call order, with offsets that continue those of other connections', async () => {
    const a = open();
    const b = open();
    await a.append('t', 'k', 'first');
    // Bursts from two connections to the same file, interleaved: each burst is one transaction.
    await Promise.all([
      ...Array.from({ length: 300 }, (_, i) => a.append('t', 'k', `a${i}`)),
      ...Array.from({ length: 300 }, (_, i) => b.append('t', 'k', `b${i}`)),
    ]);
    const seen: LogRecord[] = [];
    await open().consume({ group: 'g', topics: ['t'] }, async (r) => void seen.push(r));
    await waitFor(() => seen.length === 601, { timeoutMs: 5_000 });
    expect(seen.map((r) => r.offset)).toEqual(Array.from({ length: 601 }, (_, i) => i));
    const values = seen.map((r) => r.value);
    expect(values[0]).toBe('first');
    expect(values.filter((v) => v.startsWith('a'))).toEqual(Array.from({ length: 300 }, (_, i) => `a${i}`));
    expect(values.filter((v) => v.startsWith('b'))).toEqual(Array.from({ length: 300 }, (_, i) => `b${i}`));
  });

  it('picks up records appended through another connection to the same file', async () => {
    const reader = open({ pollMs: 50 });
    const writer = open();
    const seen: string[] = [];
    await reader.consume({ group: 'g', topics: ['t'] }, async (record) => void seen.push(record.value));
    await writer.append('t', 'k', 'from elsewhere');
    await waitFor(() => seen.length === 1, { timeoutMs: 2_000 });
  });

  it('hands a new record to a waiting consumer within a millisecond or two', async () => {
    const log = open();
    let arrived = gate<number>();
    await log.consume({ group: 'g', topics: ['t'] }, async () => arrived.resolve(performance.now()));
    const latencies: number[] = [];
    for (let i = 0; i < 300; i++) {
      arrived = gate<number>();
      const start = performance.now();
      await log.append('t', `exec-${i % 16}`, JSON.stringify({ i, type: 'execution_requested' }));
      latencies.push((await arrived.promise) - start);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number): number => latencies[Math.floor(q * (latencies.length - 1))]!;
    console.log(`append→handler latency over 300: p50 ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, max ${at(1).toFixed(3)} ms`);
    expect(at(0.5)).toBeLessThan(5);
  });
});
