import { z } from 'zod';
import type { SupervisionContext, Ref } from 'nact';
import { actorMetrics } from '../../system/telemetry/instruments.js';
import { kindOf } from './actor-tree.js';

/** Supervision as data: restart with exponential backoff within a budget, escalate past it. Validated at boot. */
export const SupervisionPolicySchema = z
  .object({
    initialMs: z.number().int().min(0),
    factor: z.number().min(1),
    maxMs: z.number().int().min(0),
    maxRestarts: z.number().int().min(0),
    windowMs: z.number().int().positive(),
  })
  .refine((p) => p.maxMs >= p.initialMs, { message: 'maxMs must be >= initialMs' });
export type SupervisionPolicy = z.infer<typeof SupervisionPolicySchema>;

export const DEFAULT_POLICY: SupervisionPolicy = { initialMs: 20, factor: 2, maxMs: 1000, maxRestarts: 3, windowMs: 60_000 };

/** A crash seen by a supervisor, kept for admins. */
export interface CrashRecord {
  path: string;
  error: string;
  at: string;
  decision: 'restart' | 'escalate';
}

/** Counts crashes per actor path and remembers the latest ones. */
export class CrashLedger {
  private readonly recent: CrashRecord[] = [];
  private readonly restarts = new Map<string, number[]>();
  total = 0;

  /** Records a crash and says how many restarts this path had within the window (including this one). */
  note(path: string, error: unknown, windowMs: number, now = Date.now()): number {
    const times = (this.restarts.get(path) ?? []).filter((t) => now - t < windowMs);
    times.push(now);
    this.restarts.set(path, times);
    this.total++;
    return times.length;
  }

  remember(record: CrashRecord): void {
    this.recent.push(record);
    if (this.recent.length > 200) this.recent.shift();
  }

  /** Forgets a path's restart history, e.g. when its actor stopped for good. */
  forget(path: string): void {
    this.restarts.delete(path);
  }

  latest(): readonly CrashRecord[] {
    return this.recent;
  }
}

/** Delay before the n-th restart (n starts at 1). */
export function backoffMs(policy: SupervisionPolicy, n: number): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** (n - 1));
}

type OnCrash = (msg: unknown, err: Error | undefined, ctx: SupervisionContext<unknown, Ref<unknown>>) => Promise<symbol>;

/** An nact onCrash function: reset (state rebuilt by the actor's initial state) after a backoff, escalate past the budget. */
export function restartWithBackoff(
  policy: SupervisionPolicy,
  ledger: CrashLedger,
  /** Told about the message that crashed, e.g. to answer a waiting asker instead of leaving it to time out. */
  onFailedMessage?: (msg: unknown, err: unknown) => void,
): OnCrash {
  return async (msg, err, ctx) => {
    onFailedMessage?.(msg, err);
    const path = ctx.path.toString();
    const n = ledger.note(path, err, policy.windowMs);
    const kind = kindOf(path.slice(path.lastIndexOf('/') + 1));
    if (n > policy.maxRestarts) {
      actorMetrics.supervised(kind, 'escalate');
      ledger.remember({ path, error: String(err?.message ?? err), at: new Date().toISOString(), decision: 'escalate' });
      return ctx.escalate as symbol;
    }
    actorMetrics.supervised(kind, 'restart');
    ledger.remember({ path, error: String(err?.message ?? err), at: new Date().toISOString(), decision: 'restart' });
    await new Promise((r) => setTimeout(r, backoffMs(policy, n)));
    return ctx.reset as symbol;
  };
}
