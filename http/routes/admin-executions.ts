import type { AdminExecutionService } from '../../system/services/admin-executions.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import {
  AdminExecutionPageSchema,
  AdminExecutionsQuery,
  PriorityBody,
  PriorityChangeSchema,
  QueueSnapshotSchema,
  toAdminQuery,
} from '../schemas/admin.js';
import { queryRecord } from '../schemas/executions.js';
import { pathParam } from './params.js';

const tag = 'admin-executions';

/** The admin executions API group (role admin): list every execution, inspect the admission queue, reprioritize. */
export function adminExecutionRoutes(service: AdminExecutionService): RouteGroup {
  return (router) => {
    router.get(
      '/api/v1/admin/executions/',
      async (ctx) => {
        requireAdmin(ctx);
        const query = parseInput(AdminExecutionsQuery, queryRecord(ctx.query));
        ctx.json(200, await service.list(toAdminQuery(query)));
      },
      { summary: 'All executions, newest first', tag, auth: 'admin', query: AdminExecutionsQuery, response: AdminExecutionPageSchema },
    );

    router.get(
      '/api/v1/admin/executions/queue',
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await service.queue());
      },
      { summary: 'Admission queue: depth, active slots, cap, waiting per priority', tag, auth: 'admin', response: QueueSnapshotSchema },
    );

    router.put(
      '/api/v1/admin/executions/{id}/priority',
      async (ctx) => {
        requireAdmin(ctx);
        const body = parseInput(PriorityBody, await ctx.body.json());
        ctx.json(200, await service.setPriority(pathParam(ctx, 'id'), body.priority));
      },
      {
        summary: "Change a queued execution's priority (stored and applied to its place in the queue)",
        tag,
        auth: 'admin',
        body: PriorityBody,
        response: PriorityChangeSchema,
      },
    );
  };
}
