import { describe, expect, it } from 'vitest';
import { classify } from './outcome.js';
import type { SandboxOutcome } from '../ports/sandbox.js';

const base: SandboxOutcome = {
  exitCode: 0,
  signal: null,
  stdout: '',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  limit: null,
  stopped: false,
  usage: { execution_time_wall_seconds: 0, cpu_time_jiffies: 0, clk_tck_hertz: 100, peak_memory_kb: 0 },
};

describe('classify', () => {
  it('exit 0 is completed', () => expect(classify({ outcome: base, timedOut: false, cancelled: false })).toEqual({ status: 'completed' }));
  it('non-zero exit is a script error', () => {
    const v = classify({ outcome: { ...base, exitCode: 3 }, timedOut: false, cancelled: false });
    expect(v).toMatchObject({ status: 'failed', errorType: 'script_error' });
  });
  it('a limit is a resource_limit failure even with a non-zero exit', () => {
    const v = classify({ outcome: { ...base, exitCode: 137, limit: 'memory' }, timedOut: false, cancelled: false });
    expect(v).toMatchObject({ status: 'failed', errorType: 'resource_limit', message: 'memory limit exceeded' });
  });
  it('the wall limit and a watcher deadline are timeouts', () => {
    expect(classify({ outcome: { ...base, limit: 'wall_time' }, timedOut: false, cancelled: false }).status).toBe('timeout');
    expect(classify({ outcome: { ...base, exitCode: null }, timedOut: true, cancelled: false }).status).toBe('timeout');
  });
  it('cancel wins over everything', () => {
    expect(classify({ outcome: { ...base, limit: 'memory' }, timedOut: true, cancelled: true }).status).toBe('cancelled');
  });
});
