import { errors } from '../domain/errors.js';
import { isTerminal, type ExecutionRecord } from '../domain/execution.js';
import type { EventPublisher } from '../events/publisher.js';
import type { Filter } from '../ports/document-store.js';
import type { ExecutionStore } from '../stores/execution-store.js';
import type { SagaRecord, SagaStateName, SagaStore } from '../stores/saga-store.js';
import { requestCancel } from './execution-service.js';
import type { Caller } from './types.js';

/** A saga as the API shows it: its stored progress plus how many times its execution was run again. */
export type SagaView = Omit<SagaRecord, 'id'> & { retry_count: number };

/** GET /sagas/ filters, validated. */
export interface SagaListQuery {
  state?: SagaStateName;
  executionId?: string;
  limit: number;
  skip: number;
}

/** A page of sagas. */
export interface SagaPage {
  sagas: SagaView[];
  total: number;
  skip: number;
  limit: number;
  has_more: boolean;
}

/** POST /sagas/{id}/cancel answer. */
export interface SagaCancelResponse {
  success: boolean;
  message: string;
  saga_id: string;
}

/** Saga use cases: list, read, cancel. Users see the sagas of their own executions; admins see all. */
export interface SagaService {
  list(caller: Caller, query: SagaListQuery): Promise<SagaPage>;
  get(sagaId: string, caller: Caller): Promise<SagaView>;
  forExecution(executionId: string, caller: Caller): Promise<SagaView>;
  cancel(sagaId: string, caller: Caller): Promise<SagaCancelResponse>;
}

export interface SagaServiceDeps {
  sagas: SagaStore;
  executions: ExecutionStore;
  /** Publishes the cancel command (the same path as POST /executions/{id}/cancel). */
  publisher: EventPublisher;
}

const FINAL_STATES: ReadonlySet<SagaStateName> = new Set(['completed', 'failed', 'timeout', 'cancelled']);

/** Stored saga → API view; `attempts` is its execution's run count when known. */
export function toSagaView(record: SagaRecord, attempts: number | undefined): SagaView {
  const { id: _id, ...rest } = record;
  return { ...rest, retry_count: Math.max(0, (attempts ?? 1) - 1) };
}

/** The saga use cases on the shared saga store: they answer the same from any node. */
export function createSagaService(deps: SagaServiceDeps): SagaService {
  const isAdmin = (caller: Caller) => caller.role === 'admin';
  const requireSignedIn = (caller: Caller): string => {
    if (caller.userId === null) throw errors.unauthenticated();
    return caller.userId;
  };

  /** The saga and its execution, or 404; 403 unless the caller owns the execution or is an admin. */
  const visible = async (saga: SagaRecord | null, caller: Caller): Promise<{ saga: SagaRecord; execution: ExecutionRecord | null }> => {
    const userId = requireSignedIn(caller);
    if (!saga) throw errors.notFound('Saga');
    const execution = await deps.executions.get(saga.execution_id);
    if (!isAdmin(caller) && execution?.user_id !== userId) throw errors.forbidden('Access denied');
    return { saga, execution };
  };

  const attemptsOf = async (sagas: SagaRecord[]): Promise<Map<string, number>> => {
    if (sagas.length === 0) return new Map();
    const rows = await deps.executions.find({ execution_id: { $in: sagas.map((s) => s.execution_id) } });
    return new Map(rows.map((r) => [r.execution_id, r.attempts]));
  };

  return {
    async list(caller, q) {
      const userId = requireSignedIn(caller);
      const filter: Filter = {};
      if (q.state) filter['state'] = q.state;
      if (q.executionId) filter['execution_id'] = q.executionId;
      if (!isAdmin(caller)) {
        // Sagas carry no owner: a user's are those of the user's executions.
        const own = (await deps.executions.find({ user_id: userId })).map((r) => r.execution_id);
        const allowed = q.executionId ? own.filter((id) => id === q.executionId) : own;
        filter['execution_id'] = { $in: allowed };
      }
      const [rows, total] = await Promise.all([
        deps.sagas.find(filter, { sort: { created_at: -1 }, limit: q.limit, skip: q.skip }),
        deps.sagas.count(filter),
      ]);
      const attempts = await attemptsOf(rows);
      return {
        sagas: rows.map((r) => toSagaView(r, attempts.get(r.execution_id))),
        total,
        skip: q.skip,
        limit: q.limit,
        has_more: q.skip + rows.length < total,
      };
    },

    async get(sagaId, caller) {
      const { saga, execution } = await visible(await deps.sagas.get(sagaId), caller);
      return toSagaView(saga, execution?.attempts);
    },

    async forExecution(executionId, caller) {
      const [found] = await deps.sagas.find({ execution_id: executionId }, { sort: { created_at: -1 }, limit: 1 });
      const { saga, execution } = await visible(found ?? null, caller);
      return toSagaView(saga, execution?.attempts);
    },

    async cancel(sagaId, caller) {
      const { saga, execution } = await visible(await deps.sagas.get(sagaId), caller);
      if (FINAL_STATES.has(saga.state)) throw errors.invalidState(`Cannot cancel a saga that is ${saga.state}`);
      if (!execution) throw errors.invalidState('The execution of this saga no longer exists');
      if (isTerminal(execution.status)) throw errors.invalidState(`Cannot cancel a saga whose execution is ${execution.status}`);
      await requestCancel(deps.publisher, saga.execution_id, `Saga cancelled by ${caller.userId ?? 'unknown'}`, caller.userId);
      return { success: true, message: 'Saga cancellation requested: the sandbox is stopped and its slot released', saga_id: saga.saga_id };
    },
  };
}
