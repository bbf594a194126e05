import { dispatch, spawnStateless, start, stop, type Ref } from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveLimits } from '../../system/domain/limits.js';
import type { OutputChunk, Sandbox, SandboxHandle, SandboxOutcome } from '../../system/ports/sandbox.js';
import { waitFor } from '../../test/support/wait.js';
import type { WatchReport } from './messages.js';
import { spawnPodWatch } from './pod-watch.actor.js';

let system: Ref<unknown> | null = null;
afterEach(() => {
  if (system) stop(system);
  system = null;
});

const handle: SandboxHandle = { backend: 'fake', id: 'run-1', executionId: 'e1', startedAt: '2026-01-01T00:00:00.000Z' };
const outcome = (o: Partial<SandboxOutcome> = {}): SandboxOutcome => ({
  exitCode: 0,
  signal: null,
  stdout: '',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  limit: null,
  stopped: false,
  usage: { execution_time_wall_seconds: 0, cpu_time_jiffies: 0, clk_tck_hertz: 100, peak_memory_kb: 0 },
  ...o,
});

/** A sandbox the test drives: it prints what the test says, ends when told, and records the input written to it. */
function fakeSandbox() {
  let onOutput: ((c: OutputChunk) => void) | undefined;
  let end: ((o: SandboxOutcome) => void) | undefined;
  const written: Array<[string, boolean]> = [];
  const sandbox: Sandbox = {
    backend: 'fake',
    reattachableElsewhere: false,
    runtimes: { list: () => [], find: () => undefined },
    start: async () => handle,
    watch: (_h, cb) => {
      onOutput = cb;
      return new Promise((resolve) => (end = resolve));
    },
    stop: async () => undefined,
    write: async (_h, data, eof) => void written.push([data, eof]),
    reattach: async (h) => h,
    ready: async () => ({ ok: true, detail: 'fake' }),
    close: async () => undefined,
  };
  return { sandbox, written, print: (c: OutputChunk) => onOutput!(c), end: (o: SandboxOutcome) => end!(o), watching: () => onOutput !== undefined };
}

function setUp(outputBytes = 1000) {
  system = start() as Ref<unknown>;
  const fake = fakeSandbox();
  const reports: WatchReport[] = [];
  const report = spawnStateless(system as Ref<never>, (msg: WatchReport) => void reports.push(msg)) as Ref<WatchReport>;
  const limits = resolveLimits({ outputBytes, wallMs: 60_000 });
  const watch = spawnPodWatch(system, { sandbox: fake.sandbox, spec: { executionId: 'e1', lang: 'python', langVersion: '3', script: '', limits }, report });
  return { fake, reports, watch };
}

describe('pod-watch actor: live output and stdin', () => {
  it('reports output in batches, all of it before the exit, with a truncation only the outcome knew', async () => {
    const { fake, reports, watch } = setUp(10);
    dispatch(watch, { type: 'Start' });
    await waitFor(fake.watching, { message: 'the watch to begin' });
    fake.print({ stream: 'stdout', text: 'hello ' });
    fake.print({ stream: 'stdout', text: 'you' });
    await waitFor(() => reports.some((r) => r.type === 'SandboxOutput'), { message: 'a batch' });
    fake.print({ stream: 'stderr', text: 'late' });
    fake.end(outcome({ stderrTruncated: true }));
    await waitFor(() => reports.some((r) => r.type === 'SandboxExited'), { message: 'the exit' });
    expect(reports.map((r) => (r.type === 'SandboxOutput' ? r.pieces : r.type))).toEqual([
      'SandboxStarted',
      [{ stream: 'stdout', text: 'hello you', truncated: false }],
      [
        { stream: 'stderr', text: 'late', truncated: false },
        { stream: 'stderr', text: '', truncated: true },
      ],
      'SandboxExited',
    ]);
  });

  it('writes stdin in order, once per command id, only while the program runs', async () => {
    const { fake, watch } = setUp();
    dispatch(watch, { type: 'Write', commandId: 'c0', data: 'too early', eof: false });
    dispatch(watch, { type: 'Start' });
    await waitFor(fake.watching, { message: 'the watch to begin' });
    dispatch(watch, { type: 'Write', commandId: 'c1', data: 'a', eof: false });
    dispatch(watch, { type: 'Write', commandId: 'c1', data: 'a', eof: false }); // redelivered
    dispatch(watch, { type: 'Write', commandId: 'c2', data: 'b', eof: true });
    await waitFor(() => fake.written.length === 2, { message: 'two writes' });
    fake.end(outcome());
    await new Promise((r) => setTimeout(r, 20));
    dispatch(watch, { type: 'Write', commandId: 'c3', data: 'after', eof: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.written).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('a re-attached watch skips the output published before it', async () => {
    const { fake, reports, watch } = setUp();
    dispatch(watch, { type: 'Reattach', handle, skip: { stdout: 3, stderr: 0 } });
    await waitFor(fake.watching, { message: 'the watch to begin' });
    fake.print({ stream: 'stdout', text: 'abcdef' }); // a backend replays a run's output from its start
    fake.end(outcome());
    await waitFor(() => reports.some((r) => r.type === 'SandboxExited'), { message: 'the exit' });
    expect(reports.flatMap((r) => (r.type === 'SandboxOutput' ? r.pieces.map((p) => p.text) : []))).toEqual(['def']);
  });
});
