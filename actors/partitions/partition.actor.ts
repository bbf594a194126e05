import { dispatch, spawn, type ActorContext, type Ref } from 'nact';
import { stopDescendants, stopTree } from '../supervision/stop-tree.js';
import { stampEvent } from '../../system/domain/events.js';
import { isTerminal, type ExecutionRecord } from '../../system/domain/execution.js';
import type { ExecutionStore } from '../../system/stores/execution-store.js';
import { spawnExecution, type ExecutionDeps } from '../execution/execution.actor.js';
import type { ExecutionMsg } from '../execution/messages.js';
import type { SagaMsg } from '../saga/messages.js';
import { spawnSaga, type SagaDeps } from '../saga/saga.actor.js';
import { recordFromRequest } from '../../system/domain/record-from-request.js';
import { withTrace } from '../../system/events/trace-context.js';
import type { PartitionMsg } from './messages.js';
import { instrumented } from '../supervision/instrumented.js';

export interface PartitionDeps {
  executions: ExecutionStore;
  execution: ExecutionDeps;
  saga: SagaDeps;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Hosted {
  execution: Ref<ExecutionMsg>;
  saga: Ref<SagaMsg>;
}

/** Name of a partition's actor. */
export const partitionActorName = (n: number) => `partition-${n}`;

/**
 * Spawns the actor for one partition this node owns: it hosts the execution and saga actors of that
 * partition's executions, recovers unfinished ones on assignment, and passivates them when their saga is done.
 */
export function spawnPartition(parent: Ref<unknown>, partition: number, deps: PartitionDeps): Ref<PartitionMsg> {
  const hosted = new Map<string, Hosted>();
  /** Executions whose actors gave up once already; a second give-up leaves them to the next recovery. */
  const gaveUp = new Set<string>();

  const host = (self: Ref<PartitionMsg>, id: string): Hosted => {
    const existing = hosted.get(id);
    if (existing) return existing;
    const execution = spawnExecution(self, id, deps.execution);
    const saga = spawnSaga(self, id, execution, self, deps.saga);
    const h = { execution, saga };
    hosted.set(id, h);
    return h;
  };
  const passivate = (id: string) => {
    const h = hosted.get(id);
    if (!h) return;
    hosted.delete(id);
    stopTree(h.saga);
    stopTree(h.execution);
  };
  /** Hosts the given executions that have no actors yet; returns how many it hosted. */
  const adopt = (self: Ref<PartitionMsg>, ids: string[]): number => {
    const fresh = new Set(ids.filter((id) => !hosted.has(id) && !gaveUp.has(id)));
    for (const id of fresh) host(self, id);
    return fresh.size;
  };
  const ensureRecord = async (cmd: Extract<PartitionMsg, { type: 'Command' }>['command']): Promise<ExecutionRecord | null> => {
    const record = await deps.executions.get(cmd.aggregate_id);
    if (record || cmd.event_type !== 'execution_requested') return record;
    const created = recordFromRequest(cmd, partition);
    await deps.executions.create(created);
    return created;
  };

  return spawn(
    parent as Ref<never>,
    instrumented('partition', async (state: null, msg: PartitionMsg, ctx: ActorContext<PartitionMsg, Ref<never>>) => {
      const self = ctx.self as Ref<PartitionMsg>;
      switch (msg.type) {
        case 'Command': {
          const id = msg.command.aggregate_id;
          const record = hosted.has(id) ? null : await withTrace(msg.traceparent, () => ensureRecord(msg.command));
          if (hosted.has(id) || (record && !isTerminal(record.status))) {
            // Actors spawned here trace their work under the consumed record's context (see spawnExecution).
            const h = withTrace(msg.traceparent, () => host(self, id));
            const c = msg.command;
            if (c.event_type === 'execution_cancel_requested') dispatch(h.saga, { type: 'Cancel', reason: c.reason });
            if (c.event_type === 'execution_stdin_requested') dispatch(h.saga, { type: 'Stdin', commandId: c.event_id, data: c.data, eof: c.eof });
          }
          dispatch(msg.replyTo, 'ok');
          break;
        }
        case 'Recover': {
          const unfinished = await deps.executions.unfinished([partition]);
          const pending = await deps.executions.withPendingOutbox([partition]);
          dispatch(msg.replyTo, adopt(self, [...unfinished, ...pending].map((r) => r.id)));
          break;
        }
        case 'Adopt': {
          // Heals what an outage left behind: an accepted execution whose command never reached the log, or a
          // record whose events could not be published; ids whose actors gave up twice wait for the next owner.
          const adopted = adopt(self, msg.executionIds);
          if (adopted) deps.log.warn({ partition, adopted }, 'sweep hosted executions that had no actors');
          break;
        }
        case 'SagaDone':
          passivate(msg.executionId);
          gaveUp.delete(msg.executionId);
          deps.saga.crashes.forget(`${ctx.path.toString()}/saga-${msg.executionId}`);
          break;
        case 'ChildGaveUp': {
          passivate(msg.executionId);
          if (gaveUp.has(msg.executionId)) {
            // Even recording the fault failed: say so on the event stream so waiting clients are not left hanging.
            deps.log.error({ execution_id: msg.executionId, error: msg.error }, 'execution actors gave up again; left for recovery at the next assignment');
            const event = stampEvent('result_failed', msg.executionId, { execution_id: msg.executionId, error: msg.error }, { user_id: null });
            await deps.execution.publisher.publish(event).catch((err: unknown) => deps.log.error({ err }, 'could not publish result_failed'));
            break;
          }
          gaveUp.add(msg.executionId);
          // The execution's own actors gave up; a fresh execution actor records the fault.
          const execution = spawnExecution(self, msg.executionId, deps.execution);
          const saga = spawnSaga(self, msg.executionId, execution, self, { ...deps.saga, abort: `internal fault: ${msg.error}` });
          hosted.set(msg.executionId, { execution, saga });
          deps.log.error({ execution_id: msg.executionId, error: msg.error }, 'execution actors exceeded their restart budget');
          break;
        }
        case 'Inspect':
          dispatch(msg.replyTo, { partition, executions: [...hosted.keys()] });
          break;
      }
      return state;
    }),
    partitionActorName(partition),
    {
      initialState: null,
      onCrash: (msg, err, ctx, child) => {
        if (child) {
          const id = (child as unknown as { name: string }).name.replace(/^(execution|saga)-/, '');
          dispatch(ctx.self as Ref<PartitionMsg>, { type: 'ChildGaveUp', executionId: id, error: String(err?.message ?? err) });
          // nact stops the child itself but would strand the child's own children (a saga's sandbox watcher).
          stopDescendants(child as Ref<unknown>);
          return ctx.stopChild;
        }
        deps.log.error({ partition, error: String(err?.message ?? err), msg: (msg as { type?: string } | undefined)?.type }, 'partition actor failed a message');
        return ctx.resume;
      },
    },
  );
}
