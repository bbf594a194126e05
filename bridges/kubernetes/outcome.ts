/** Turns what is known when a pod has ended (the wrapper's report, the kubelet's status, who stopped it) into an outcome. */
import type { Limits } from '../../system/domain/limits.js';
import { SandboxFault, type LimitReason, type SandboxOutcome } from '../../system/ports/sandbox.js';
import { CLK_TCK_HERTZ } from '../sandbox/outcome.js';
import type { ExitReport } from './frames.js';
import type { PodState } from './pod-status.js';

/** Everything observed about an ended run. */
export interface PodObservation {
  /** The wrapper's exit report; null when the container was killed before it could write one. */
  report: ExitReport | null;
  /** The pod's final state; null when the pod was deleted before it ended. */
  ended: Extract<PodState, { kind: 'ended' }> | null;
  /** stop() deleted the pod (cancel, deadline). */
  stopped: boolean;
  /** Why the log cannot be trusted, if it cannot. */
  corrupt: string | null;
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  limits: Pick<Limits, 'cpuMs'>;
  /** Wall time measured outside the pod, used when there is no report. */
  observedWallMs: number;
}

/** Which limit ended the program, from the most certain source down. */
function limitOf(obs: PodObservation): LimitReason | null {
  const r = obs.report;
  if (r?.wall_timed_out) return 'wall_time';
  if (obs.ended?.limit) return obs.ended.limit;
  if (!r) return null;
  if (r.oom_kills > 0) return 'memory';
  if (r.signal === 'SIGXCPU' || (r.signal === 'SIGKILL' && r.cpu_ms >= obs.limits.cpuMs)) return 'cpu_time';
  if (r.signal === 'SIGXFSZ') return 'file_size';
  return null;
}

/** The outcome of an ended pod; throws SandboxFault when what ended it was our fault, not the program's. */
export function outcomeOf(obs: PodObservation): SandboxOutcome {
  if (obs.corrupt) throw new SandboxFault(`the pod's log cannot be read: ${obs.corrupt}`);
  if (obs.report?.error) throw new SandboxFault(`the wrapper could not run the program: ${obs.report.error}`);
  // a program that reported its end was not ended by stop(), however late stop() came
  const stopped = obs.stopped && !obs.report;
  const limit = stopped ? null : limitOf(obs);
  if (!obs.report && !stopped && !limit) {
    throw new SandboxFault(`the pod ended without an exit report (${obs.ended?.detail ?? 'deleted'})`);
  }
  const r = obs.report;
  return {
    exitCode: r ? r.exit_code : null,
    signal: r ? r.signal : 'SIGKILL',
    stdout: obs.stdout,
    stderr: obs.stderr,
    stdoutTruncated: obs.stdoutTruncated || (r?.stdout_truncated ?? false),
    stderrTruncated: obs.stderrTruncated || (r?.stderr_truncated ?? false),
    limit,
    stopped,
    usage: {
      execution_time_wall_seconds: Math.round(r ? r.wall_ms : obs.observedWallMs) / 1000,
      cpu_time_jiffies: r ? Math.round(r.cpu_ms / (1000 / CLK_TCK_HERTZ)) : 0,
      clk_tck_hertz: CLK_TCK_HERTZ,
      peak_memory_kb: r ? Math.round(r.peak_memory_kb) : 0,
    },
  };
}
