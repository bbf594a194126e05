import { dispatch, query, spawn, start, stop, type Ref } from 'nact';
import { describe, expect, it } from 'vitest';
import { compactIdleActor, findConcrete } from './concrete.js';

type Msg = { type: 'compact' | 'echo'; sender: Ref<string> };

describe('compactIdleActor', () => {
  it("drops the finished turn's immediate and keeps the actor working, with the same path", async () => {
    const system = start();
    const actor = spawn(
      system as Ref<never>,
      (state: number, msg: Msg, ctx: { self: Ref<Msg> }) => {
        if (msg.type === 'compact') compactIdleActor(ctx.self);
        dispatch(msg.sender, `handled ${state + 1}`);
        return state + 1;
      },
      'idle-one',
      { initialState: 0 },
    ) as Ref<Msg>;
    const concrete = findConcrete(actor) as unknown as { immediate?: unknown; path: { parts: string[]; toString(): string } };
    const pathBefore = concrete.path.toString();
    await query(actor, (sender: Ref<string>) => ({ type: 'echo', sender }), 1000);
    expect(concrete.immediate).toBeDefined();
    expect(await query(actor, (sender: Ref<string>) => ({ type: 'compact', sender }), 1000)).toBe('handled 2');
    expect(concrete.immediate).toBeUndefined();
    expect(concrete.path.toString()).toBe(pathBefore);
    expect(await query(actor, (sender: Ref<string>) => ({ type: 'echo', sender }), 1000)).toBe('handled 3');
    stop(actor);
    stop(system);
  });
});
