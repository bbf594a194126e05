import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWrapper } from '../../test/support/kube-wrapper.js';
import { encodeFrame, FrameParser, type ExitReport, type FrameEvent } from './frames.js';

const KEY = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';
const REPORT: ExitReport = {
  v: 1,
  exit_code: 0,
  signal: null,
  cpu_ms: 12.5,
  peak_memory_kb: 9000,
  wall_ms: 30,
  oom_kills: 0,
  wall_timed_out: false,
  stdout_truncated: false,
  stderr_truncated: false,
  error: null,
};

/** Parses a whole log, returning stdout, stderr and the parser. */
function parse(log: string, chunk = log.length || 1): { stdout: string; stderr: string; parser: FrameParser; events: FrameEvent[] } {
  const events: FrameEvent[] = [];
  const parser = new FrameParser(KEY, (e) => events.push(e));
  for (let i = 0; i < log.length; i += chunk) parser.push(log.slice(i, i + chunk));
  const text = (s: 'stdout' | 'stderr') =>
    Buffer.concat(events.flatMap((e) => (e.kind === 'output' && e.stream === s ? [e.bytes] : []))).toString('utf8');
  return { stdout: text('stdout'), stderr: text('stderr'), parser, events };
}

const frames = (...parts: Array<['o' | 'e' | 'x', string]>) => parts.map(([tag, p], i) => encodeFrame(KEY, i, tag, p)).join('');

describe('FrameParser', () => {
  it('separates stdout and stderr and reads the exit report', () => {
    const { stdout, stderr, parser } = parse(frames(['o', 'out 1\n'], ['e', 'err\n'], ['o', 'out 2'], ['x', JSON.stringify(REPORT)]));
    expect(stdout).toBe('out 1\nout 2');
    expect(stderr).toBe('err\n');
    expect(parser.report).toEqual(REPORT);
    expect(parser.corrupt).toBeNull();
  });

  it('reads the same log fed in pieces of any size', () => {
    const log = frames(['o', 'héllo wörld\n'.repeat(50)], ['e', 'x'.repeat(3000)], ['x', JSON.stringify(REPORT)]);
    for (const size of [1, 3, 7, 64, 4096]) {
      const r = parse(log, size);
      expect(r.stdout).toBe('héllo wörld\n'.repeat(50));
      expect(r.stderr.length).toBe(3000);
      expect(r.parser.report).toEqual(REPORT);
    }
  });

  it('keeps output that imitates frames as output', () => {
    // what a program prints goes base64-encoded inside the wrapper's frames, whatever it looks like
    const forged = `${encodeFrame(KEY, 1, 'x', JSON.stringify({ ...REPORT, exit_code: 0 }))}${KEY} 2 e ${Buffer.from('fake').toString('base64')}\n`;
    const { stdout, stderr, parser } = parse(frames(['o', forged], ['x', JSON.stringify({ ...REPORT, exit_code: 7 })]));
    expect(stdout).toBe(forged);
    expect(stderr).toBe('');
    expect(parser.report?.exit_code).toBe(7);
  });

  it('ignores lines without this run key (runtime noise, or a forger who does not know the key)', () => {
    const noise = `${encodeFrame(OTHER, 0, 'o', 'forged')}plain text\n${OTHER} 1 x ${Buffer.from(JSON.stringify(REPORT)).toString('base64')}\n`;
    const log = noise + frames(['o', 'real\n'], ['x', JSON.stringify({ ...REPORT, exit_code: 2 })]);
    const { stdout, parser } = parse(log);
    expect(stdout).toBe('real\n');
    expect(parser.report?.exit_code).toBe(2);
    expect(parser.noise).toBe(3);
  });

  it('treats a forged frame with the key as corruption, not as output or a report', () => {
    // someone who got hold of the key and wrote into the log out of sequence
    const log = frames(['o', 'a']) + encodeFrame(KEY, 5, 'x', JSON.stringify(REPORT)) + encodeFrame(KEY, 1, 'o', 'b');
    const { parser } = parse(log);
    expect(parser.corrupt).toMatch(/missing/);
    expect(parser.report).toBeNull();
  });

  it('rejects a frame claiming a sequence number already used with different content as a duplicate, never twice', () => {
    const log = frames(['o', 'first\n']) + encodeFrame(KEY, 0, 'o', 'forged\n') + encodeFrame(KEY, 1, 'x', JSON.stringify(REPORT));
    const { stdout, parser } = parse(log);
    expect(stdout).toBe('first\n');
    expect(parser.duplicates).toBe(1);
  });

  it('skips frames already seen when the log is read again from the start after a reconnect', () => {
    const log = frames(['o', 'one\n'], ['o', 'two\n'], ['e', 'three\n'], ['x', JSON.stringify(REPORT)]);
    const events: FrameEvent[] = [];
    const parser = new FrameParser(KEY, (e) => events.push(e));
    parser.push(log.slice(0, log.indexOf('\n', log.indexOf('\n') + 1) + 5)); // two frames and part of the third
    parser.restart();
    parser.push(log);
    const out = events.flatMap((e) => (e.kind === 'output' ? [`${e.stream}:${e.bytes.toString()}`] : []));
    expect(out).toEqual(['stdout:one\n', 'stdout:two\n', 'stderr:three\n']);
    expect(parser.duplicates).toBe(2);
    expect(parser.report).toEqual(REPORT);
  });

  it('marks malformed frames with the key as corrupt', () => {
    for (const bad of [`${KEY} 0 o not*base64\n`, `${KEY} 0 q aGk=\n`, `${KEY} x o aGk=\n`, `${KEY} 0 o\n`, `${KEY} 0 x ${Buffer.from('{"v":2}').toString('base64')}\n`, `${KEY} 00 o aGk=\n`]) {
      expect(parse(bad).parser.corrupt, bad).not.toBeNull();
    }
  });

  it('flags frames after the exit report', () => {
    const { parser } = parse(frames(['x', JSON.stringify(REPORT)], ['o', 'late']));
    expect(parser.corrupt).toMatch(/after the exit report/);
  });

  it('waits for the rest of a partial last line', () => {
    const log = frames(['o', 'hi\n']);
    const { stdout } = parse(log.slice(0, -1));
    expect(stdout).toBe('');
    expect(parse(log).stdout).toBe('hi\n');
  });

  it('refuses a key that is not 32 hex digits', () => {
    expect(() => new FrameParser('short', () => {})).toThrow();
  });
});

describe('the wrapper and the parser together', () => {
  let wrapper: string;
  beforeAll(async () => {
    wrapper = await buildWrapper();
  }, 300_000);

  const run = async (script: string, env: Record<string, string> = {}) => {
    const r = await promisify(execFile)(wrapper, ['--', '/bin/sh', '-c', script], { env: { PATH: '/usr/bin:/bin', I8S_FRAME_KEY: KEY, ...env } });
    return parse(r.stdout);
  };

  it('frames a program that prints frame look-alikes and hunts for the key', async () => {
    const forged = encodeFrame(KEY, 1, 'x', JSON.stringify({ ...REPORT, exit_code: 0 })).trim();
    const r = await run(`printf '%s\\n' '${forged}'; env; echo "to err" >&2; exit 4`);
    expect(r.stdout).toContain(forged);
    expect(r.stdout).not.toContain('I8S_'); // the key and the settings are not in the program's env
    expect(r.stderr).toBe('to err\n');
    expect(r.parser.report).toMatchObject({ exit_code: 4, signal: null, wall_timed_out: false, error: null });
    expect(r.parser.corrupt).toBeNull();
  });

  it('reports a signal, the wall limit, truncation and usage', async () => {
    const killed = await run('kill -SEGV $$');
    expect(killed.parser.report).toMatchObject({ exit_code: null, signal: 'SIGSEGV' });
    const slow = await run('echo start; sleep 5', { I8S_WALL_MS: '300' });
    expect(slow.parser.report).toMatchObject({ wall_timed_out: true, signal: 'SIGKILL' });
    expect(slow.parser.report!.wall_ms).toBeLessThan(3000);
    expect(slow.stdout).toBe('start\n');
    const big = await run('head -c 5000 /dev/zero | tr "\\0" x', { I8S_OUTPUT_BYTES: '1000' });
    expect(big.stdout).toBe('x'.repeat(1000));
    expect(big.parser.report).toMatchObject({ stdout_truncated: true, stderr_truncated: false });
    const busy = await run('i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done');
    expect(busy.parser.report!.cpu_ms).toBeGreaterThan(10);
    expect(busy.parser.report!.peak_memory_kb).toBeGreaterThan(100);
  });

  it('ends a program at its CPU limit with SIGXCPU', async () => {
    const r = await run('while :; do :; done', { I8S_CPU_MS: '500', I8S_WALL_MS: '10000' });
    expect(r.parser.report?.signal).toBe('SIGXCPU');
  }, 15_000);

  it('reports a program it cannot start as an error, not as the program failing', async () => {
    const r = await promisify(execFile)(wrapper, ['--', 'no-such-binary'], { env: { PATH: '/usr/bin:/bin', I8S_FRAME_KEY: KEY } }).catch((e: { stdout: string; code: number }) => e);
    const p = parse(r.stdout);
    expect(p.parser.report?.error).toMatch(/no-such-binary/);
  });
});
