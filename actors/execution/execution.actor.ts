import { dispatch, spawn, type Ref } from 'nact';
import { isTerminal, type ExecutionRecord } from '../../system/domain/execution.js';
import { executionMetrics } from '../../system/telemetry/instruments.js';
import type { EventPublisher } from '../../system/events/publisher.js';
import { contextOf, currentTraceparent, inSpan } from '../../system/events/trace-context.js';
import type { ExecutionStore } from '../../system/stores/execution-store.js';
import type { CrashLedger, SupervisionPolicy } from '../supervision/policy.js';
import { restartWithBackoff } from '../supervision/policy.js';
import type { ExecutionMsg } from './messages.js';
import { flushOutbox } from './outbox.js';
import { plan } from './transitions.js';
import { instrumented } from '../supervision/instrumented.js';

export interface ExecutionDeps {
  executions: ExecutionStore;
  publisher: EventPublisher;
  policy: SupervisionPolicy;
  crashes: CrashLedger;
}

/** Whether applying a patch changes any field of the record. */
function changes(record: ExecutionRecord, patch: Partial<ExecutionRecord>): boolean {
  return Object.entries(patch).some(([k, v]) => JSON.stringify(record[k as keyof ExecutionRecord]) !== JSON.stringify(v));
}

/** The actor's state: nothing until the record is loaded (again after a restart), then the record. */
type State = { status: 'unloaded' } | { status: 'loaded'; record: ExecutionRecord };

/** Name of an execution's actor under its partition. */
export const executionActorName = (id: string) => `execution-${id}`;

/**
 * Spawns the actor that owns one execution's status: every change goes through its state machine,
 * is stored, and is published as events. Its state is rebuilt from the store after a crash.
 */
export function spawnExecution(parent: Ref<unknown>, executionId: string, deps: ExecutionDeps): Ref<ExecutionMsg> {
  /**
   * Each transition is a span in the execution's trace: under the consumed command's context when the actor was
   * spawned for one, else (recovery, another node taking over) under the submitting request's, kept by the record.
   * The events it publishes carry the span's context.
   */
  const spawnedIn = currentTraceparent();
  const inTrace = <T>(record: ExecutionRecord | null, name: string, fn: () => Promise<T>): Promise<T> => {
    const parent = contextOf(spawnedIn ?? record?.traceparent);
    return parent ? inSpan(name, { parent, attributes: { 'execution.id': executionId } }, fn) : fn();
  };

  const load = async (state: State): Promise<ExecutionRecord | null> => {
    if (state.status === 'loaded') return state.record;
    const record = await deps.executions.get(executionId);
    if (!record?.outbox_pending) return record;
    return inTrace(record, 'execution.flush_outbox', () => flushOutbox(record, deps.executions, deps.publisher));
  };

  const apply = async (record: ExecutionRecord | null, state: State, msg: ExecutionMsg): Promise<State> => {
    switch (msg.type) {
      case 'Get':
        dispatch(msg.replyTo, record);
        break;
      case 'Apply': {
        if (!record) {
          dispatch(msg.replyTo, { ok: false, reason: 'execution not found', record: null });
          return state;
        }
        const p = plan(record, msg.change);
        if ('rejected' in p) {
          dispatch(msg.replyTo, { ok: false, reason: p.rejected, record });
          return { status: 'loaded', record };
        }
        if (!changes(record, p.patch)) {
          // Nothing in the record changes: the events alone are the transition, and the event store is durable.
          for (const event of p.events) await deps.publisher.publish(event);
          dispatch(msg.replyTo, { ok: true, record });
          return { status: 'loaded', record };
        }
        const stored = await deps.executions.update(executionId, { ...p.patch, outbox: p.events, outbox_pending: true });
        if (!stored) throw new Error(`execution ${executionId} vanished from the store`);
        const published = await flushOutbox(stored, deps.executions, deps.publisher);
        if (!isTerminal(record.status) && isTerminal(published.status)) {
          executionMetrics.finished(published.lang, published.status, (Date.now() - Date.parse(published.created_at)) / 1000);
        }
        dispatch(msg.replyTo, { ok: true, record: published });
        return { status: 'loaded', record: published };
      }
    }
    return record ? { status: 'loaded', record } : state;
  };

  return spawn(
    parent as Ref<never>,
    instrumented('execution', async (state: State, msg: ExecutionMsg): Promise<State> => {
      const record = await load(state);
      return msg.type === 'Apply' ? inTrace(record, `execution.${msg.change.kind}`, () => apply(record, state, msg)) : apply(record, state, msg);
    }),
    executionActorName(executionId),
    {
      initialState: { status: 'unloaded' } as State,
      onCrash: restartWithBackoff(deps.policy, deps.crashes, (msg, err) => {
        const m = msg as ExecutionMsg | undefined;
        if (m?.type === 'Apply') dispatch(m.replyTo, { ok: false, reason: String(err), record: null, retryable: true });
      }) as never,
    },
  );
}
