import { dispatch, spawn, start, stop, type Ref } from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { delay } from '../../test/support/wait.js';
import { actorState, actorTree, totalsByKind } from './actor-tree.js';

let system: Ref<unknown> | undefined;
afterEach(() => {
  if (system) stop(system);
});

describe('actorTree', () => {
  it('shows names, kinds, mailbox depths, busy actors and totals by kind, and states with references as paths', async () => {
    system = start();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const partition = spawn(system as Ref<never>, (s: null) => s, 'partition-3', { initialState: null });
    type SagaLike = { seen: number; script: string; owner: Ref<unknown>; note: string };
    const slow = spawn(partition as Ref<never>, async (s: SagaLike) => (await gate, { ...s, seen: s.seen + 1 }), 'saga-1b4e28ba-2fa1-11d2-883f-0016d3cca427', {
      initialState: { seen: 0, script: 'print(1)', owner: partition, note: 'x'.repeat(600) },
    });
    spawn(partition as Ref<never>, (s: null) => s, 'execution-1b4e28ba-2fa1-11d2-883f-0016d3cca427', { initialState: null });
    for (let i = 0; i < 4; i++) dispatch(slow, 'work');
    await delay(10);

    const tree = actorTree(system)!;
    const p = tree.children.find((c) => c.name === 'partition-3')!;
    expect(p.kind).toBe('partition');
    const saga = p.children.find((c) => c.kind === 'saga')!;
    expect(saga).toMatchObject({ kind: 'saga', busy: true, mailbox: 3 });
    expect(totalsByKind(tree)).toEqual({
      partition: { count: 1, mailbox: 0, maxMailbox: 0 },
      saga: { count: 1, mailbox: 3, maxMailbox: 3 },
      execution: { count: 1, mailbox: 0, maxMailbox: 0 },
    });

    const state = actorState(slow) as Record<string, unknown>;
    expect(state['owner']).toBe('actor:/partition-3');
    expect(state['script']).toBeUndefined();
    expect(String(state['note'])).toMatch(/… \(600 chars\)$/);
    release();
    await delay(10);
    expect(actorTree(slow)).toMatchObject({ busy: false, mailbox: 0 });
    stop(partition);
    expect(actorTree(partition)).toBeNull();
  });
});
