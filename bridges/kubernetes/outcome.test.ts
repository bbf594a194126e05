import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { SandboxFault } from '../../system/ports/sandbox.js';
import type { ExitReport } from './frames.js';
import { outcomeOf, type PodObservation } from './outcome.js';
import { podState, signalOfExitCode } from './pod-status.js';

const terminated = (reason: string, exitCode: number, podReason?: string, message?: string): V1Pod => ({
  status: {
    phase: 'Failed',
    ...(podReason ? { reason: podReason } : {}),
    ...(message ? { message } : {}),
    containerStatuses: [{ name: 'run', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, reason } } }],
  },
});
const waiting = (reason: string): V1Pod => ({
  status: { phase: 'Pending', containerStatuses: [{ name: 'run', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, message: 'details' } } }] },
});

describe('podState', () => {
  it('reads pending, scheduled or not, and running', () => {
    expect(podState({ status: { phase: 'Pending' } })).toMatchObject({ kind: 'pending', scheduled: false });
    expect(podState({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] } })).toMatchObject({ kind: 'pending', scheduled: true });
    expect(podState({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' }] } })).toMatchObject({
      kind: 'pending',
      detail: 'Unschedulable: 0/3 nodes',
    });
    expect(podState(waiting('ContainerCreating'))).toMatchObject({ kind: 'pending', detail: 'ContainerCreating' });
    expect(podState({ status: { phase: 'Running', containerStatuses: [{ name: 'run', image: 'i', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] } })).toEqual({ kind: 'running' });
  });

  it('classifies image pull and container creation errors as our faults', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError']) {
      expect(podState(waiting(reason))).toEqual({ kind: 'fault', message: `pod cannot start: ${reason}: details` });
    }
  });

  it('maps what the kubelet enforced to limits: OOMKilled and Evicted to memory, DeadlineExceeded to wall time', () => {
    expect(podState(terminated('OOMKilled', 137))).toMatchObject({ kind: 'ended', limit: 'memory', exitCode: 137 });
    expect(podState(terminated('Error', 137, 'Evicted', 'The node was low on resource: memory.'))).toMatchObject({ kind: 'ended', limit: 'memory' });
    expect(podState(terminated('Error', 137, 'Evicted', 'Pod ephemeral local storage usage exceeds the total limit of containers 64Mi.'))).toMatchObject({ limit: 'file_size' });
    expect(podState({ status: { phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' } })).toMatchObject({
      kind: 'ended',
      limit: 'wall_time',
      exitCode: null,
    });
    expect(podState({ status: { phase: 'Succeeded', containerStatuses: [{ name: 'run', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] } })).toMatchObject({
      kind: 'ended',
      limit: null,
      exitCode: 0,
    });
  });

  it('names the signal in an exit code above 128', () => {
    expect(signalOfExitCode(137)).toBe('SIGKILL');
    expect(signalOfExitCode(1)).toBeNull();
    expect(signalOfExitCode(null)).toBeNull();
  });
});

const report = (over: Partial<ExitReport> = {}): ExitReport => ({
  v: 1,
  exit_code: 0,
  signal: null,
  cpu_ms: 250,
  peak_memory_kb: 10_240,
  wall_ms: 1234,
  oom_kills: 0,
  wall_timed_out: false,
  stdout_truncated: false,
  stderr_truncated: false,
  error: null,
  ...over,
});
const obs = (over: Partial<PodObservation> = {}): PodObservation => ({
  report: report(),
  ended: { kind: 'ended', exitCode: 0, limit: null, detail: 'Succeeded', startedAt: null, finishedAt: null },
  stopped: false,
  corrupt: null,
  stdout: 'out',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  limits: { cpuMs: 1000 },
  observedWallMs: 2000,
  ...over,
});

describe('outcomeOf', () => {
  it('takes exit code and usage from the report', () => {
    expect(outcomeOf(obs({ report: report({ exit_code: 3 }) }))).toEqual({
      exitCode: 3,
      signal: null,
      stdout: 'out',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      limit: null,
      stopped: false,
      usage: { execution_time_wall_seconds: 1.234, cpu_time_jiffies: 25, clk_tck_hertz: 100, peak_memory_kb: 10_240 },
    });
  });

  it('names the limit from the report or the kubelet', () => {
    expect(outcomeOf(obs({ report: report({ wall_timed_out: true, exit_code: null, signal: 'SIGKILL' }) })).limit).toBe('wall_time');
    expect(outcomeOf(obs({ report: report({ oom_kills: 1, exit_code: null, signal: 'SIGKILL' }) })).limit).toBe('memory');
    expect(outcomeOf(obs({ report: report({ signal: 'SIGXCPU', exit_code: null }) })).limit).toBe('cpu_time');
    expect(outcomeOf(obs({ report: report({ signal: 'SIGKILL', exit_code: null, cpu_ms: 1001 }) })).limit).toBe('cpu_time');
    expect(outcomeOf(obs({ report: report({ signal: 'SIGKILL', exit_code: null, cpu_ms: 10 }) })).limit).toBeNull();
    expect(outcomeOf(obs({ report: report({ signal: 'SIGXFSZ', exit_code: null }) })).limit).toBe('file_size');
  });

  it('an OOM-killed or deadline-ended container without a report ends with the limit and SIGKILL', () => {
    const o = outcomeOf(obs({ report: null, ended: { kind: 'ended', exitCode: 137, limit: 'memory', detail: 'Failed/OOMKilled', startedAt: null, finishedAt: null } }));
    expect(o).toMatchObject({ limit: 'memory', exitCode: null, signal: 'SIGKILL', stopped: false, usage: { execution_time_wall_seconds: 2 } });
  });

  it('a stopped run has no limit and says so; a report means it ended on its own', () => {
    expect(outcomeOf(obs({ report: null, ended: null, stopped: true }))).toMatchObject({ stopped: true, limit: null, exitCode: null, signal: 'SIGKILL' });
    expect(outcomeOf(obs({ stopped: true }))).toMatchObject({ stopped: false, exitCode: 0 });
  });

  it('our faults are SandboxFaults: a corrupt log, a wrapper error, an end without report or limit', () => {
    expect(() => outcomeOf(obs({ corrupt: 'frames 3..4 are missing' }))).toThrow(SandboxFault);
    expect(() => outcomeOf(obs({ report: report({ error: 'cannot find python3' }) }))).toThrow(/cannot find python3/);
    expect(() => outcomeOf(obs({ report: null }))).toThrow(/without an exit report/);
  });

  it('keeps the truncation flags of either side', () => {
    expect(outcomeOf(obs({ report: report({ stdout_truncated: true }) })).stdoutTruncated).toBe(true);
    expect(outcomeOf(obs({ stderrTruncated: true })).stderrTruncated).toBe(true);
  });
});
