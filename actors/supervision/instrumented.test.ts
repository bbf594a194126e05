import { dispatch, query, spawn, start, stop, type Ref } from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { registry } from '../../system/telemetry/instruments.js';
import { waitFor } from '../../test/support/wait.js';
import { instrumented } from './instrumented.js';
import { restartWithBackoff, CrashLedger } from './policy.js';

/** The value of one series of a recorded family (a histogram's count), 0 when absent. */
function figure(name: string, kind: string): number {
  const metric = registry.collect([0, 0], [0, 0]).find((m) => m.descriptor.name === name);
  const point = metric?.dataPoints.find((p) => p.attributes['kind'] === kind);
  if (!point) return 0;
  return typeof point.value === 'number' ? point.value : (point.value as { count: number }).count;
}

let system: Ref<unknown> | undefined;
afterEach(() => {
  if (system) stop(system);
  system = undefined;
});

describe('instrumented', () => {
  it('times every message of sync and async handlers under the kind, passing results through', async () => {
    const sync = instrumented('test-sync', (a: number, b: number) => a + b);
    expect(sync(2, 3)).toBe(5);
    const slow = instrumented('test-async', async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms));
      return ms;
    });
    expect(await slow(20)).toBe(20);
    expect(figure('actors.message.duration_seconds', 'test-sync')).toBe(1);
    expect(figure('actors.message.duration_seconds', 'test-async')).toBe(1);
    const h = registry.collect([0, 0], [0, 0]).find((m) => m.descriptor.name === 'actors.message.duration_seconds')!;
    const point = h.dataPoints.find((p) => p.attributes['kind'] === 'test-async')!;
    expect((point.value as { sum: number }).sum).toBeGreaterThanOrEqual(0.015);
  });

  it('counts a handler that throws or rejects as a crash and rethrows', async () => {
    const throws = instrumented('test-crash', () => {
      throw new Error('boom');
    });
    expect(() => throws()).toThrow('boom');
    const rejects = instrumented('test-crash', async () => {
      throw new Error('later');
    });
    await expect(rejects()).rejects.toThrow('later');
    expect(figure('actors.crashes', 'test-crash')).toBe(2);
  });

  it('in a real actor: a crash is counted, the supervisor restart is counted, then escalation past the budget', async () => {
    system = start() as Ref<unknown>;
    const policy = { initialMs: 1, factor: 1, maxMs: 1, maxRestarts: 1, windowMs: 60_000 };
    const ref = spawn(
      system as Ref<never>,
      instrumented('test-actor', (state: number, msg: { type: 'Crash' } | { type: 'Get'; replyTo: Ref<number> }) => {
        if (msg.type === 'Crash') throw new Error('asked to');
        dispatch(msg.replyTo, state);
        return state;
      }),
      'test-actor-1',
      { initialState: 0, onCrash: restartWithBackoff(policy, new CrashLedger()) as never },
    ) as Ref<never>;
    dispatch(ref, { type: 'Crash' } as never);
    await waitFor(() => figure('actors.restarts', 'test-actor') === 1, { message: 'one restart' });
    expect(await query(ref, (replyTo: Ref<number>) => ({ type: 'Get', replyTo }) as never, 2_000)).toBe(0);
    dispatch(ref, { type: 'Crash' } as never);
    await waitFor(() => figure('actors.escalations', 'test-actor') === 1, { message: 'an escalation' });
    expect(figure('actors.crashes', 'test-actor')).toBe(2);
  });
});
