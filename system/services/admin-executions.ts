import type { QueueSnapshot, ReprioritizeReply } from '../../actors/admission/messages.js';
import { errors } from '../domain/errors.js';
import type { ExecutionRecord, ExecutionStatus, Priority } from '../domain/execution.js';
import type { Filter } from '../ports/document-store.js';
import type { ExecutionStore } from '../stores/execution-store.js';
import type { ExecutionPage } from './types.js';

/** An execution as admins list it: everything but the sandbox handle and the outbox. */
export interface AdminExecution {
  execution_id: string;
  user_id: string | null;
  script: string;
  lang: ExecutionRecord['lang'];
  lang_version: string;
  status: ExecutionStatus;
  priority: Priority;
  stdout: string | null;
  stderr: string | null;
  exit_code: number | null;
  error_type: ExecutionRecord['error_type'];
  resource_usage: ExecutionRecord['resource_usage'];
  attempts: number;
  created_at: string;
  updated_at: string;
  start_time: string | null;
  end_time: string | null;
}

/** GET /admin/executions filters, validated. */
export interface AdminExecutionQuery {
  status?: ExecutionStatus;
  priority?: Priority;
  userId?: string;
  limit: number;
  skip: number;
}

/** PUT /admin/executions/{id}/priority: the updated execution and its place in the waiting line (0 once admitted). */
export type PriorityChange = AdminExecution & { queue_position: number };

/** The admission queue as the admin service needs it (an AdmissionClient fits). */
export interface AdmissionView {
  snapshot(): Promise<QueueSnapshot>;
  reprioritize(executionId: string, priority: Priority): Promise<ReprioritizeReply>;
}

/** Admin use cases on executions: list all, see the queue, change a waiting execution's priority. */
export interface AdminExecutionService {
  list(q: AdminExecutionQuery): Promise<ExecutionPage<AdminExecution>>;
  queue(): Promise<QueueSnapshot>;
  setPriority(executionId: string, priority: Priority): Promise<PriorityChange>;
}

/** The admin view of a stored execution. */
export function toAdminExecution(r: ExecutionRecord): AdminExecution {
  return {
    execution_id: r.execution_id,
    user_id: r.user_id,
    script: r.script,
    lang: r.lang,
    lang_version: r.lang_version,
    status: r.status,
    priority: r.priority,
    stdout: r.stdout,
    stderr: r.stderr,
    exit_code: r.exit_code,
    error_type: r.error_type,
    resource_usage: r.resource_usage,
    attempts: r.attempts,
    created_at: r.created_at,
    updated_at: r.updated_at,
    start_time: r.start_time,
    end_time: r.end_time,
  };
}

/** Builds the admin executions service over the execution store and the admission actor. */
export function createAdminExecutionService(deps: { executions: ExecutionStore; admission: AdmissionView }): AdminExecutionService {
  return {
    async list(q) {
      const filter: Filter = {};
      if (q.status) filter['status'] = q.status;
      if (q.priority) filter['priority'] = q.priority;
      if (q.userId) filter['user_id'] = q.userId;
      const [rows, total] = await Promise.all([
        deps.executions.find(filter, { sort: { created_at: -1 }, limit: q.limit, skip: q.skip }),
        deps.executions.count(filter),
      ]);
      return { executions: rows.map(toAdminExecution), total, limit: q.limit, skip: q.skip, has_more: q.skip + rows.length < total };
    },

    queue: () => deps.admission.snapshot(),

    async setPriority(id, priority) {
      const record = await deps.executions.get(id);
      if (!record) throw errors.notFound('Execution');
      if (record.status !== 'queued') throw errors.invalidState(`Only a queued execution can be reprioritized; this one is ${record.status}`);
      // Stored first: a saga that asks for its slot from now on reads the new priority; one already waiting is moved.
      const updated = (await deps.executions.update(id, { priority })) ?? { ...record, priority };
      const reply = await deps.admission.reprioritize(id, priority);
      return { ...toAdminExecution(updated), queue_position: reply.position };
    },
  };
}
