import { createMemorySemaphore } from '../../system/embedded/concurrency-semaphore.js';
import { dispatch, spawnStateless, start, stop, type Ref } from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnAdmission } from './admission.actor.js';
import { admissionClient } from './client.js';
import type { AdmissionReply } from './messages.js';
import type { Priority } from '../../system/domain/execution.js';

let system: Ref<unknown> | null = null;
afterEach(() => {
  if (system) stop(system);
  system = null;
});

/** A real admission actor plus a recorder that collects the grants it sends. */
function setUp(max: number) {
  system = start() as Ref<unknown>;
  const admission = spawnAdmission(system, max, { semaphore: createMemorySemaphore() });
  const granted: string[] = [];
  const recorder = spawnStateless(system as Ref<never>, (msg: AdmissionReply) => {
    if (msg.type === 'SlotGranted') granted.push(msg.executionId);
  }) as Ref<AdmissionReply>;
  const acquire = (executionId: string, priority: Priority) => dispatch(admission, { type: 'Acquire', executionId, priority, replyTo: recorder });
  return { client: admissionClient(admission), granted, acquire };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('admission actor: Reprioritize', () => {
  it('moves a queued execution ahead so it is granted the next free slot', async () => {
    const { client, granted, acquire } = setUp(1);
    acquire('running', 'normal');
    acquire('n1', 'normal');
    acquire('n2', 'normal');
    acquire('late', 'background');
    await until(() => granted.length === 1);
    expect((await client.snapshot()).by_priority).toMatchObject({ normal: 2, background: 1 });

    expect(await client.reprioritize('late', 'critical')).toEqual({ executionId: 'late', outcome: 'moved', position: 1 });
    expect((await client.snapshot()).by_priority).toMatchObject({ critical: 1, normal: 2, background: 0 });
    client.setMaxConcurrent(2);
    await until(() => granted.length === 2);
    expect(granted).toEqual(['running', 'late']);
  });

  it('remembers a priority for an execution that has not asked yet, and says when it is too late', async () => {
    const { client, granted, acquire } = setUp(1);
    acquire('running', 'normal');
    acquire('n1', 'normal');
    expect(await client.reprioritize('early', 'high')).toEqual({ executionId: 'early', outcome: 'pending', position: 0 });
    acquire('early', 'low');
    await until(() => granted.length === 1);
    const snap = await client.snapshot();
    expect(snap.by_priority).toMatchObject({ high: 1, normal: 1, low: 0 });
    expect(await client.reprioritize('running', 'critical')).toMatchObject({ outcome: 'active', position: 0 });
  });
});

/** An admission actor with one slot, and a recorder of the executions it grants. */
function oneSlot() {
  system = start() as Ref<unknown>;
  const admission = spawnAdmission(system, 1, { semaphore: createMemorySemaphore() });
  const granted: string[] = [];
  const recorder = spawnStateless(system as Ref<never>, (msg: AdmissionReply) => {
    if (msg.type === 'SlotGranted') granted.push(msg.executionId);
  }) as Ref<AdmissionReply>;
  return { admission, granted, recorder, client: admissionClient(admission) };
}

describe('admission actor: owners', () => {
  it("a Release from an asker that was replaced is ignored; the current asker's Release frees the slot", async () => {
    const { admission, granted, recorder, client } = oneSlot();
    dispatch(admission, { type: 'Acquire', executionId: 'a', priority: 'normal', replyTo: recorder, owner: 'saga-1' });
    await until(() => granted.length === 1);
    // The saga was replaced (same execution, a new instance asks again); the old one's late Release must not count.
    dispatch(admission, { type: 'Acquire', executionId: 'a', priority: 'normal', replyTo: recorder, owner: 'saga-2' });
    dispatch(admission, { type: 'Acquire', executionId: 'b', priority: 'normal', replyTo: recorder, owner: 'saga-b' });
    dispatch(admission, { type: 'Release', executionId: 'a', owner: 'saga-1' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await client.snapshot()).active_count).toBe(1);
    expect(granted).not.toContain('b');
    dispatch(admission, { type: 'Release', executionId: 'a', owner: 'saga-2' });
    await until(() => granted.includes('b'));
  });

  it("a stopped saga's Release withdraws its place in the line, so no slot is granted to nobody", async () => {
    const { admission, granted, recorder, client } = oneSlot();
    dispatch(admission, { type: 'Acquire', executionId: 'holder', priority: 'normal', replyTo: recorder, owner: 'h' });
    await until(() => granted.length === 1);
    dispatch(admission, { type: 'Acquire', executionId: 'gone', priority: 'normal', replyTo: recorder, owner: 'g' });
    dispatch(admission, { type: 'Acquire', executionId: 'next', priority: 'normal', replyTo: recorder, owner: 'n' });
    dispatch(admission, { type: 'Release', executionId: 'gone', owner: 'g' });
    dispatch(admission, { type: 'Release', executionId: 'holder', owner: 'h' });
    await until(() => granted.includes('next'));
    expect(granted).not.toContain('gone');
    expect((await client.snapshot()).active_count).toBe(1);
  });
});
