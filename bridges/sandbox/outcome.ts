/** Turns what was observed about a finished run (exit status, cgroup counters, who killed it) into an outcome. */
import { constants } from 'node:os';
import type { Limits } from '../../system/domain/limits.js';
import type { LimitReason, ResourceUsage } from '../../system/ports/sandbox.js';
import type { CgroupStats } from './cgroups.js';

/** The kernel tick the usage figures are expressed in (USER_HZ on Linux). */
export const CLK_TCK_HERTZ = 100;

/** Everything known when a run has ended. */
export interface RunObservation {
  /** bwrap's exit code: the program's own, or 128 + signal when a signal ended it. */
  exitCode: number;
  /** Set when the launcher process itself was killed by a signal (stop(), our own caps). */
  killedBy: string | null;
  stopped: boolean;
  wallCapFired: boolean;
  cpuCapFired: boolean;
  stats: CgroupStats;
  limits: Pick<Limits, 'cpuMs'>;
}

/** Name of signal `n` (SIGKILL for 9), or null when n is not a signal number. */
export function signalName(n: number): string | null {
  for (const [name, value] of Object.entries(constants.signals)) if (value === n) return name;
  if (n >= 34 && n <= 64) return `SIGRTMIN+${n - 34}`;
  return null;
}

/**
 * The signal that ended the program. bwrap (like a shell) reports a signalled child as 128 + n, so an exit
 * code above 128 that names a signal is read as that signal; the exit code is kept as reported (137 for SIGKILL).
 */
export function signalOf(obs: Pick<RunObservation, 'exitCode' | 'killedBy'>): string | null {
  if (obs.killedBy) return obs.killedBy;
  if (obs.exitCode > 128 && obs.exitCode <= 128 + 64) return signalName(obs.exitCode - 128);
  return null;
}

/**
 * Which limit ended the run, in order of certainty: our wall cap, an OOM kill in the memory cgroup, CPU time
 * (our cgroup poller, SIGXCPU, or SIGKILL with the cgroup's CPU at the limit), SIGXFSZ, and the pids limit
 * when forks were refused and the program then failed. A run ended by stop() has no limit.
 */
export function limitOf(obs: RunObservation): LimitReason | null {
  if (obs.stopped) return null;
  if (obs.wallCapFired) return 'wall_time';
  if (obs.stats.oomKills > 0) return 'memory';
  const signal = signalOf(obs);
  const cpuAtLimit = obs.stats.cpuNs >= obs.limits.cpuMs * 1e6;
  if (obs.cpuCapFired || signal === 'SIGXCPU' || (signal === 'SIGKILL' && cpuAtLimit)) return 'cpu_time';
  if (signal === 'SIGXFSZ') return 'file_size';
  if (obs.stats.pidsMaxHits > 0 && (obs.exitCode !== 0 || signal !== null)) return 'pids';
  return null;
}

/** Usage figures in the API's units. */
export function usageOf(stats: Pick<CgroupStats, 'cpuNs' | 'peakMemoryBytes'>, wallMs: number): ResourceUsage {
  return {
    execution_time_wall_seconds: Math.round(wallMs) / 1000,
    cpu_time_jiffies: Math.round(stats.cpuNs / (1e9 / CLK_TCK_HERTZ)),
    clk_tck_hertz: CLK_TCK_HERTZ,
    peak_memory_kb: Math.round(stats.peakMemoryBytes / 1024),
  };
}
