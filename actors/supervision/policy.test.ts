import { dispatch, query, spawn, start, stop, type Ref } from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs, CrashLedger, restartWithBackoff, SupervisionPolicySchema } from './policy.js';
import { waitFor } from '../../test/support/wait.js';

type Msg = { type: 'Crash' } | { type: 'Count'; replyTo: Ref<number> } | { type: 'Bump' };

let system: Ref<unknown> | undefined;
afterEach(() => {
  if (system) stop(system);
});

/** An actor that counts bumps and throws on Crash; its state is lost on reset (restart). */
function counter(parent: Ref<unknown>, name: string, ledger: CrashLedger, maxRestarts: number) {
  return spawn(
    parent as Ref<never>,
    (n: number, msg: Msg) => {
      if (msg.type === 'Crash') throw new Error('boom');
      if (msg.type === 'Count') dispatch(msg.replyTo, n);
      return msg.type === 'Bump' ? n + 1 : n;
    },
    name,
    { initialState: 0, onCrash: restartWithBackoff({ initialMs: 5, factor: 2, maxMs: 20, maxRestarts, windowMs: 60_000 }, ledger) as never },
  );
}
const count = (ref: Ref<Msg>) => query(ref, (replyTo: Ref<number>) => ({ type: 'Count' as const, replyTo }), 1_000);

describe('supervision policy', () => {
  it('validates at boot', () => {
    expect(() => SupervisionPolicySchema.parse({ initialMs: 100, factor: 2, maxMs: 10, maxRestarts: 3, windowMs: 1000 })).toThrow(/maxMs/);
    expect(() => SupervisionPolicySchema.parse({ initialMs: 1, factor: 0.5, maxMs: 10, maxRestarts: 3, windowMs: 1000 })).toThrow();
  });

  it('backs off exponentially up to the cap', () => {
    const p = { initialMs: 10, factor: 2, maxMs: 50, maxRestarts: 9, windowMs: 1 };
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(p, n))).toEqual([10, 20, 40, 50, 50]);
  });

  it('restarts a crashed actor with fresh state and keeps serving; siblings are untouched', async () => {
    system = start() as Ref<unknown>;
    const ledger = new CrashLedger();
    const a = counter(system, 'a', ledger, 3);
    const b = counter(system, 'b', ledger, 3);
    dispatch(a, { type: 'Bump' });
    dispatch(b, { type: 'Bump' });
    dispatch(b, { type: 'Bump' });
    expect(await count(a)).toBe(1);
    dispatch(a, { type: 'Crash' });
    dispatch(a, { type: 'Bump' });
    expect(await count(a)).toBe(1); // reset to 0, then one bump after the restart
    expect(await count(b)).toBe(2);
    expect(ledger.total).toBe(1);
    expect(ledger.latest()[0]).toMatchObject({ decision: 'restart', error: 'boom' });
  });

  it('escalates to the parent once the restart budget is spent', async () => {
    system = start() as Ref<unknown>;
    const ledger = new CrashLedger();
    const escalated: string[] = [];
    const parent = spawn(system as Ref<never>, (s: null) => s, 'parent', {
      initialState: null,
      onCrash: (_m, _e, ctx, child) => {
        escalated.push((child as unknown as { name: string }).name);
        return ctx.stopChild;
      },
    });
    const c = counter(parent, 'flaky', ledger, 2);
    for (let i = 0; i < 3; i++) dispatch(c, { type: 'Crash' });
    await waitFor(() => escalated.length === 1, { timeoutMs: 2_000, message: 'escalation' });
    expect(escalated).toEqual(['flaky']);
    expect(ledger.latest().map((r) => r.decision)).toEqual(['restart', 'restart', 'escalate']);
    await expect(count(c)).rejects.toThrow();
  });
});
