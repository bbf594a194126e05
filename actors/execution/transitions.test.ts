import { describe, expect, it } from 'vitest';
import { recordFromRequest } from '../../system/domain/record-from-request.js';
import { stampEvent } from '../../system/domain/events.js';
import type { ExecutionRecord } from '../../system/domain/execution.js';
import type { SandboxOutcome } from '../../system/ports/sandbox.js';
import { plan } from './transitions.js';

const request = stampEvent('execution_requested', 'e1', { execution_id: 'e1', script: 'print(1)', lang: 'python', lang_version: '3.11', priority: 'normal' }, { user_id: 'u1' });
const queued = recordFromRequest(request, 3);
const at = (status: ExecutionRecord['status']): ExecutionRecord => ({ ...queued, status });
const outcome: SandboxOutcome = {
  exitCode: 0,
  signal: null,
  stdout: 'hi\n',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  limit: null,
  stopped: false,
  usage: { execution_time_wall_seconds: 0.01, cpu_time_jiffies: 1, clk_tck_hertz: 100, peak_memory_kb: 1000 },
};
const types = (p: ReturnType<typeof plan>) => ('rejected' in p ? p.rejected : p.events.map((e) => e.event_type));

describe('execution transitions', () => {
  it('walks the happy path with one event set per step', () => {
    expect(types(plan(queued, { kind: 'queued', position: 1 }))).toEqual(['execution_queued']);
    expect(types(plan(queued, { kind: 'scheduled' }))).toEqual(['execution_scheduled']);
    const handle = { backend: 'bwrap', id: 'r1', executionId: 'e1', startedAt: 'now' };
    const started = plan(at('scheduled'), { kind: 'started', handle });
    expect(types(started)).toEqual(['pod_created', 'execution_running']);
    expect('patch' in started && started.patch).toMatchObject({ status: 'running', sandbox: handle });
    const done = plan(at('running'), { kind: 'finished', end: { outcome, timedOut: false, cancelled: false }, timeoutSeconds: 10, cancelReason: '' });
    expect(types(done)).toEqual(['pod_terminated', 'execution_completed', 'result_stored']);
    expect('patch' in done && done.patch).toMatchObject({ status: 'completed', stdout: 'hi\n', exit_code: 0, error_type: null });
  });

  it('stamps every event with the execution and its user', () => {
    const p = plan(queued, { kind: 'scheduled' });
    if ('rejected' in p) throw new Error(p.rejected);
    expect(p.events[0]).toMatchObject({ aggregate_id: 'e1', metadata: { user_id: 'u1' }, attempt: 1 });
    expect(p.patch.attempts).toBe(1);
  });

  it('maps each verdict to its terminal event and error type', () => {
    const finish = (o: Partial<SandboxOutcome>, timedOut = false, cancelled = false) =>
      plan(at('running'), { kind: 'finished', end: { outcome: { ...outcome, ...o }, timedOut, cancelled }, timeoutSeconds: 10, cancelReason: 'user' });
    const pick = (p: ReturnType<typeof plan>) => ('rejected' in p ? p.rejected : [p.events[1]!.event_type, p.patch.status, p.patch.error_type]);
    expect(pick(finish({ exitCode: 1 }))).toEqual(['execution_failed', 'failed', 'script_error']);
    expect(pick(finish({ exitCode: 137, limit: 'memory' }))).toEqual(['execution_failed', 'failed', 'resource_limit']);
    expect(pick(finish({ exitCode: null }, true))).toEqual(['execution_timeout', 'timeout', 'timeout']);
    expect(pick(finish({ exitCode: null }, false, true))).toEqual(['execution_cancelled', 'cancelled', null]);
  });

  it('ends our own faults as error/system_error with a stored result', () => {
    const p = plan(at('running'), { kind: 'system_error', message: 'sandbox lost' });
    expect(types(p)).toEqual(['execution_failed', 'result_stored']);
    expect('patch' in p && p.patch).toMatchObject({ status: 'error', error_type: 'system_error' });
  });

  it('the saga deadline ends a running execution as timeout/timeout with no output and the waited time', () => {
    const running = { ...at('running'), start_time: '2026-01-01T00:00:00.000Z' };
    const p = plan(running, { kind: 'timed_out', timeoutSeconds: 10 }, '2026-01-01T00:00:41.500Z');
    expect(types(p)).toEqual(['execution_timeout', 'result_stored']);
    if ('rejected' in p) throw new Error(p.rejected);
    expect(p.patch).toMatchObject({ status: 'timeout', error_type: 'timeout', end_time: '2026-01-01T00:00:41.500Z', resource_usage: { execution_time_wall_seconds: 41.5 } });
    expect(p.events[0]).toMatchObject({ timeout_seconds: 10, stdout: '', exit_code: null, resource_usage: { execution_time_wall_seconds: 41.5 } });
    expect(types(plan(at('completed'), { kind: 'timed_out', timeoutSeconds: 10 }))).toBe('execution is already completed');
  });

  it('a running execution whose sandbox was lost is scheduled again as a new attempt, without its old sandbox', () => {
    const running = { ...at('running'), attempts: 1, sandbox: { backend: 'bwrap', id: 'gone' }, start_time: '2026-01-01T00:00:00.000Z' };
    const next = plan(running as never, { kind: 'scheduled' });
    expect(next).toMatchObject({ patch: { status: 'scheduled', attempts: 2, sandbox: null, start_time: null } });
  });

  it('rejects moves the state machine does not allow', () => {
    expect(plan(at('completed'), { kind: 'cancelled', reason: 'x' })).toEqual({ rejected: 'execution is already completed' });
    expect(plan(at('scheduled'), { kind: 'queued', position: 1 })).toMatchObject({ rejected: expect.stringContaining('scheduled') });
    expect(plan(queued, { kind: 'finished', end: { outcome, timedOut: false, cancelled: false }, timeoutSeconds: 1, cancelReason: '' })).toEqual({
      rejected: 'cannot go from queued to completed',
    });
  });
});
