import type { SandboxOutcome } from '../ports/sandbox.js';
import type { ErrorType, ExecutionStatus } from './execution.js';

/** How a run ended, from the platform's point of view. */
export interface RunEnd {
  outcome: SandboxOutcome;
  /** The watcher stopped it at the deadline. */
  timedOut: boolean;
  /** A user's cancel stopped it. */
  cancelled: boolean;
}

/** The closed set of verdicts a user's code earns. */
export type Verdict =
  | { status: 'completed' }
  | { status: 'failed'; errorType: Extract<ErrorType, 'script_error' | 'resource_limit'>; message: string }
  | { status: 'timeout' }
  | { status: 'cancelled' };

/** Decides the verdict of a finished run. Our own faults never get here: they end as error/system_error. */
export function classify(end: RunEnd): Verdict {
  const { outcome } = end;
  if (end.cancelled) return { status: 'cancelled' };
  if (end.timedOut || outcome.limit === 'wall_time') return { status: 'timeout' };
  if (outcome.limit) {
    return { status: 'failed', errorType: 'resource_limit', message: `${outcome.limit.replace('_', ' ')} limit exceeded` };
  }
  if (outcome.exitCode === 0) return { status: 'completed' };
  const how = outcome.signal ? `killed by ${outcome.signal}` : `exit code ${outcome.exitCode}`;
  return { status: 'failed', errorType: 'script_error', message: `script ended with ${how}` };
}

/** The stored status for a verdict. */
export function statusOf(v: Verdict): ExecutionStatus {
  return v.status;
}
