import { dispatch, spawn, spawnStateless, start, stop, type Ref } from 'nact';
import { describe, expect, it } from 'vitest';
import { delay } from '../../test/support/wait.js';
import { stopTree } from './stop-tree.js';

/** parent → child → grandchild, each recording its afterStop and the messages it handled. */
function tree(root: Ref<unknown>) {
  const stopped: string[] = [];
  const handled: string[] = [];
  const node = (parent: Ref<unknown>, name: string) =>
    spawn(parent as Ref<never>, (s: null, m: string) => (handled.push(`${name}:${m}`), s), name, { initialState: null, afterStop: () => void stopped.push(name) });
  const parent = node(root, 'parent');
  const child = node(parent, 'child');
  const grandchild = node(child, 'grandchild');
  return { parent, child, grandchild, stopped, handled };
}

describe('stopTree', () => {
  it("runs every descendant's afterStop and leaves nothing that takes messages", async () => {
    const system = start();
    const t = tree(system);
    stopTree(t.parent);
    await delay(20);
    expect(t.stopped.sort()).toEqual(['child', 'grandchild', 'parent']);
    dispatch(t.grandchild, 'late');
    dispatch(t.child, 'late');
    await delay(20);
    expect(t.handled).toEqual([]);
    stop(system);
  });

  it("is needed: nact's own stop leaves the descendants' afterStop unrun", async () => {
    const system = start();
    const t = tree(system);
    stop(t.parent);
    await delay(20);
    expect(t.stopped).toEqual(['parent']);
    stop(system);
  });

  it('stops a whole system the same way, and ignores actors already gone', async () => {
    const system = start();
    const t = tree(system);
    const other = spawnStateless(system, () => undefined, 'other');
    stopTree(system);
    await delay(20);
    expect(t.stopped.sort()).toEqual(['child', 'grandchild', 'parent']);
    expect(() => stopTree(other)).not.toThrow();
    expect(() => stopTree(t.parent)).not.toThrow();
  });
});
