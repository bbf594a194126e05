import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSagaService } from '../../system/services/sagas.js';
import { SagaStore, type SagaRecord } from '../../system/stores/saga-store.js';
import { testUser } from '../test-caller.js';
import { startHttpStack, type HttpStack } from '../../test/support/http-stack.js';
import { sagaRoutes } from './sagas.js';

let s: HttpStack;
let sagaStore: SagaStore;
beforeEach(async () => {
  s = await startHttpStack({}, (parts) => {
    sagaStore = new SagaStore(parts.store);
    return [sagaRoutes(createSagaService({ sagas: sagaStore, executions: parts.executionStore, publisher: parts.publisher }))];
  });
});
afterEach(async () => s?.close());

const admin = testUser('root', 'admin');
const alice = testUser('alice');
const bob = testUser('bob');

async function call(method: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.base}/api/v1${path}`, { method, headers });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

/** A stored execution of `user` with its saga in `state`. */
async function seedSaga(user: string, state: SagaRecord['state'], created: string, status: 'running' | 'completed' = 'running') {
  const record = await s.seed(user, { status, attempts: 2 });
  const saga: SagaRecord = {
    id: record.id,
    saga_id: record.id,
    saga_name: 'execution_saga',
    execution_id: record.id,
    state,
    current_step: state === 'running' ? 'await_outcome' : null,
    completed_steps: ['admit', 'start_sandbox'],
    compensated_steps: [],
    error_message: null,
    created_at: created,
    updated_at: created,
    completed_at: null,
    deadline_at: null,
  };
  await sagaStore.put(saga);
  return saga;
}

describe('sagas API', () => {
  it('401 anonymous on every route', async () => {
    for (const [method, path] of [
      ['GET', '/sagas/'],
      ['GET', '/sagas/x'],
      ['GET', '/sagas/execution/x'],
      ['POST', '/sagas/x/cancel'],
    ] as const) {
      expect((await call(method, path)).status).toBe(401);
    }
  });

  it('lists sagas newest first with state and execution filters and paging; users see only their own', async () => {
    const a1 = await seedSaga('alice', 'running', '2024-01-01T00:00:00.000Z');
    const a2 = await seedSaga('alice', 'completed', '2024-01-02T00:00:00.000Z', 'completed');
    const b1 = await seedSaga('bob', 'running', '2024-01-03T00:00:00.000Z');
    const all = await call('GET', '/sagas/', admin);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 3, skip: 0, limit: 100, has_more: false });
    expect(all.body!['sagas'].map((x: any) => x.saga_id)).toEqual([b1.saga_id, a2.saga_id, a1.saga_id]);
    expect(all.body!['sagas'][0]).toMatchObject({ state: 'running', retry_count: 1, saga_name: 'execution_saga', completed_steps: ['admit', 'start_sandbox'] });
    expect(all.body!['sagas'][0]).not.toHaveProperty('id');
    expect((await call('GET', '/sagas/?state=running', admin)).body!['total']).toBe(2);
    expect((await call('GET', `/sagas/?execution_id=${a2.execution_id}`, admin)).body!['sagas'].map((x: any) => x.saga_id)).toEqual([a2.saga_id]);
    expect((await call('GET', '/sagas/?limit=1&skip=1', admin)).body).toMatchObject({ total: 3, has_more: true, sagas: [{ saga_id: a2.saga_id }] });
    const own = await call('GET', '/sagas/', alice);
    expect(own.body!['sagas'].map((x: any) => x.saga_id)).toEqual([a2.saga_id, a1.saga_id]);
    expect((await call('GET', `/sagas/?execution_id=${b1.execution_id}`, alice)).body!['total']).toBe(0);
  });

  it('422 naming the field for a bad filter', async () => {
    const bad = await call('GET', '/sagas/?state=sleeping', admin);
    expect(bad.status).toBe(422);
    expect(bad.body!['errors'][0].field).toBe('state');
    expect((await call('GET', '/sagas/?limit=0', admin)).body!['errors'][0].field).toBe('limit');
  });

  it('reads one saga and the saga of an execution: owner or admin, 403 for others, 404 when missing', async () => {
    const saga = await seedSaga('alice', 'running', '2024-01-01T00:00:00.000Z');
    for (const who of [alice, admin]) {
      const one = await call('GET', `/sagas/${saga.saga_id}`, who);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ saga_id: saga.saga_id, execution_id: saga.execution_id, state: 'running', current_step: 'await_outcome' });
      expect((await call('GET', `/sagas/execution/${saga.execution_id}`, who)).body).toMatchObject({ saga_id: saga.saga_id });
    }
    expect((await call('GET', `/sagas/${saga.saga_id}`, bob)).status).toBe(403);
    expect((await call('GET', `/sagas/execution/${saga.execution_id}`, bob)).status).toBe(403);
    expect((await call('GET', '/sagas/nope', admin)).status).toBe(404);
    expect((await call('GET', '/sagas/execution/nope', admin)).body).toMatchObject({ type: 'NotFound' });
  });

  it('cancel publishes the execution cancel command; 400 once the saga ended, 403 for others, 404 when missing', async () => {
    const saga = await seedSaga('alice', 'running', '2024-01-01T00:00:00.000Z');
    expect((await call('POST', `/sagas/${saga.saga_id}/cancel`, bob)).status).toBe(403);
    const res = await call('POST', `/sagas/${saga.saga_id}/cancel`, alice);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, saga_id: saga.saga_id });
    const events = await s.events.forAggregate(saga.execution_id);
    expect(events.map((e) => e.event_type)).toEqual(['execution_cancel_requested']);
    expect(events[0]!.metadata.user_id).toBe('alice');

    const ended = await seedSaga('alice', 'completed', '2024-01-02T00:00:00.000Z', 'completed');
    const refused = await call('POST', `/sagas/${ended.saga_id}/cancel`, admin);
    expect(refused).toMatchObject({ status: 400, body: { type: 'InvalidState' } });
    expect((await call('POST', '/sagas/nope/cancel', admin)).status).toBe(404);
  });
});
