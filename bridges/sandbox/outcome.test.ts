import { describe, expect, it } from 'vitest';
import { CLK_TCK_HERTZ, limitOf, signalName, signalOf, usageOf, type RunObservation } from './outcome.js';

const base: RunObservation = {
  exitCode: 0,
  killedBy: null,
  stopped: false,
  wallCapFired: false,
  cpuCapFired: false,
  stats: { cpuNs: 10e6, peakMemoryBytes: 5 * 1024 * 1024, oomKills: 0, pidsMaxHits: 0 },
  limits: { cpuMs: 1000 },
};
const obs = (over: Partial<RunObservation>, stats: Partial<RunObservation['stats']> = {}): RunObservation => ({
  ...base,
  ...over,
  stats: { ...base.stats, ...stats },
});

describe('signalOf', () => {
  it('reads 128 + n as signal n, like a shell', () => {
    expect(signalOf({ exitCode: 137, killedBy: null })).toBe('SIGKILL');
    expect(signalOf({ exitCode: 152, killedBy: null })).toBe('SIGXCPU');
    expect(signalOf({ exitCode: 153, killedBy: null })).toBe('SIGXFSZ');
    expect(signalOf({ exitCode: 139, killedBy: null })).toBe('SIGSEGV');
  });

  it('has no signal for ordinary exit codes', () => {
    for (const exitCode of [0, 1, 2, 125, 127, 128, 255]) expect(signalOf({ exitCode, killedBy: null }), String(exitCode)).toBeNull();
  });

  it('prefers the signal that killed the launcher itself', () => {
    expect(signalOf({ exitCode: 137, killedBy: 'SIGTERM' })).toBe('SIGTERM');
  });

  it('names real-time signals', () => {
    expect(signalName(34)).toBe('SIGRTMIN+0');
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(0)).toBeNull();
  });
});

describe('limitOf', () => {
  it('is null for a normal end, success or failure', () => {
    expect(limitOf(base)).toBeNull();
    expect(limitOf(obs({ exitCode: 1 }))).toBeNull();
    expect(limitOf(obs({ exitCode: 137 }))).toBeNull(); // killed, but not at any limit
  });

  it('is null when stop() ended the run, whatever else was seen', () => {
    expect(limitOf(obs({ stopped: true, wallCapFired: true, exitCode: 137 }, { oomKills: 1 }))).toBeNull();
  });

  it('reports wall_time when the backend cap fired', () => {
    expect(limitOf(obs({ wallCapFired: true, exitCode: 137 }))).toBe('wall_time');
    expect(limitOf(obs({ wallCapFired: true, exitCode: 137 }, { pidsMaxHits: 3 }))).toBe('wall_time');
  });

  it('reports memory when the cgroup saw an OOM kill', () => {
    expect(limitOf(obs({ exitCode: 137 }, { oomKills: 1 }))).toBe('memory');
    expect(limitOf(obs({ exitCode: 1 }, { oomKills: 2, pidsMaxHits: 1 }))).toBe('memory');
  });

  it('reports cpu_time for our CPU cap, SIGXCPU, or SIGKILL with the CPU at the limit', () => {
    expect(limitOf(obs({ cpuCapFired: true, exitCode: 137 }))).toBe('cpu_time');
    expect(limitOf(obs({ exitCode: 152 }))).toBe('cpu_time');
    expect(limitOf(obs({ exitCode: 137 }, { cpuNs: 1000e6 }))).toBe('cpu_time');
    expect(limitOf(obs({ exitCode: 137 }, { cpuNs: 999e6 }))).toBeNull();
  });

  it('reports file_size for SIGXFSZ', () => {
    expect(limitOf(obs({ exitCode: 153 }))).toBe('file_size');
  });

  it('reports pids only when forks were refused and the program failed', () => {
    expect(limitOf(obs({ exitCode: 1 }, { pidsMaxHits: 5 }))).toBe('pids');
    expect(limitOf(obs({ exitCode: 137 }, { pidsMaxHits: 5 }))).toBe('pids');
    expect(limitOf(obs({ exitCode: 0 }, { pidsMaxHits: 5 }))).toBeNull();
  });
});

describe('usageOf', () => {
  it('converts ns to jiffies at 100 Hz, bytes to KiB, ms to seconds', () => {
    expect(usageOf({ cpuNs: 1_234_000_000, peakMemoryBytes: 10 * 1024 * 1024 }, 1234.4)).toEqual({
      execution_time_wall_seconds: 1.234,
      cpu_time_jiffies: 123,
      clk_tck_hertz: CLK_TCK_HERTZ,
      peak_memory_kb: 10240,
    });
    expect(CLK_TCK_HERTZ).toBe(100);
  });
});
