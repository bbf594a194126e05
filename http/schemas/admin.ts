import { z } from 'zod';
import { AdminSettingsSchema } from '../../system/domain/admin-settings.js';
import { EXECUTION_STATUSES, ExecutionRecordSchema, PRIORITIES } from '../../system/domain/execution.js';
import type { AdminExecutionQuery } from '../../system/services/admin-executions.js';
import { SettingsAuditEntrySchema } from '../../system/stores/admin-settings-store.js';
import { executionPageSchema, paging } from './executions.js';

/** GET /admin/executions/ query. */
export const AdminExecutionsQuery = z.object({
  status: z.enum(EXECUTION_STATUSES).optional(),
  priority: z.enum(PRIORITIES).optional(),
  user_id: z.string().min(1).max(256).optional(),
  ...paging(50, 500),
});
export type AdminExecutionsQuery = z.output<typeof AdminExecutionsQuery>;

/** Wire → service: the admin list query. */
export function toAdminQuery(q: AdminExecutionsQuery): AdminExecutionQuery {
  return {
    limit: q.limit,
    skip: q.skip,
    ...(q.status ? { status: q.status } : {}),
    ...(q.priority ? { priority: q.priority } : {}),
    ...(q.user_id ? { userId: q.user_id } : {}),
  };
}

/** PUT /admin/executions/{id}/priority body. */
export const PriorityBody = z.object({ priority: z.enum(PRIORITIES) });

/** One execution in the admin list. */
export const AdminExecutionSchema = ExecutionRecordSchema.pick({
  execution_id: true,
  user_id: true,
  script: true,
  lang: true,
  lang_version: true,
  status: true,
  priority: true,
  stdout: true,
  stderr: true,
  exit_code: true,
  error_type: true,
  resource_usage: true,
  attempts: true,
  created_at: true,
  updated_at: true,
  start_time: true,
  end_time: true,
});

/** GET /admin/executions/ response. */
export const AdminExecutionPageSchema = executionPageSchema(AdminExecutionSchema);

/** PUT /admin/executions/{id}/priority response. */
export const PriorityChangeSchema = AdminExecutionSchema.extend({ queue_position: z.number().int() });

/** GET /admin/executions/queue response. */
export const QueueSnapshotSchema = z.object({
  queue_depth: z.number().int(),
  active_count: z.number().int(),
  max_concurrent: z.number().int(),
  by_priority: z.record(z.enum(PRIORITIES), z.number().int()),
});

/** PUT /admin/settings/ body: any subset of the settings; names not listed are ignored. */
export const SettingsPatch = AdminSettingsSchema.partial();

/** GET /admin/settings/audit query. */
export const SettingsAuditQuery = z.object({ ...paging(50, 500) });

/** GET /admin/settings/audit response. */
export const SettingsAuditPageSchema = z.object({
  entries: z.array(SettingsAuditEntrySchema),
  total: z.number().int(),
  limit: z.number().int(),
  skip: z.number().int(),
  has_more: z.boolean(),
});
