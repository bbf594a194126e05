import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { waitFor } from '../../test/support/wait.js';
import type { LogRecord } from '../ports/event-log.js';
import { createSqliteEventLog } from './event-log.js';
import { openDataDir } from './sqlite.js';

const CHILD = fileURLToPath(new URL('./event-log.crash-child.ts', import.meta.url));

interface Child {
  lines: string[];
  exited: Promise<NodeJS.Signals | number | null>;
  kill(): void;
}

function startChild(...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  return { lines, exited, kill: () => child.kill('SIGKILL') };
}

describe('embedded event log under SIGKILL', () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await createTempDir();
  });
  afterEach(async () => {
    await dir.cleanup();
  });

  it('keeps every append the killed process saw acknowledged', async () => {
    const child = startChild('append', dir.path);
    await waitFor(() => child.lines.length >= 500, { timeoutMs: 20_000, message: '500 acks' });
    child.kill();
    expect(await child.exited).toBe('SIGKILL');
    const acked = child.lines.filter((line) => line.startsWith('acked ')).map((line) => `v${line.slice(6)}`);

    const db = openDataDir(dir.path);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const stored = new Set((db.prepare(`SELECT value FROM log_records WHERE topic = 'crash'`).all() as { value: string }[]).map((row) => row.value));
    expect(acked.filter((value) => !stored.has(value))).toEqual([]);
    const gaps = db
      .prepare(`SELECT "partition" AS p, count(*) AS n, max("offset") AS top FROM log_records GROUP BY "partition"`)
      .all() as { p: number; n: number; top: number }[];
    for (const gap of gaps) expect(gap.top).toBe(gap.n - 1);
    db.close();
  });

  it('delivers again, after a restart, the record whose handler was running when the process was killed', async () => {
    const seed = createSqliteEventLog(openDataDir(dir.path), { partitions: 4 });
    for (let i = 0; i < 10; i++) await seed.append('crash', 'one-key', `v${i}`);
    for (let i = 10; i < 50; i++) await seed.append('crash', `k${i % 5}`, `v${i}`);
    await seed.close();

    const child = startChild('consume', dir.path, 'v5');
    expect(await child.exited).toBe('SIGKILL');
    const handledBefore = new Set(child.lines.filter((l) => l.startsWith('handled ')).map((l) => l.slice(8)));

    const log = createSqliteEventLog(openDataDir(dir.path), { partitions: 4 });
    const after: LogRecord[] = [];
    await log.consume({ group: 'g', topics: ['crash'] }, async (record) => void after.push(record));
    const all = Array.from({ length: 50 }, (_, i) => `v${i}`);
    await waitFor(() => all.every((value) => handledBefore.has(value) || after.some((r) => r.value === value)), {
      message: 'every record handled once at least',
    });
    await log.close();
    const sameKey = after.filter((record) => record.key === 'one-key').map((record) => record.value);
    expect(sameKey).toEqual(['v5', 'v6', 'v7', 'v8', 'v9']);
    expect([...handledBefore].filter((value) => value.startsWith('v') && Number(value.slice(1)) < 10)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });
});
