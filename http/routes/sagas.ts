import { z } from 'zod';
import type { SagaService } from '../../system/services/sagas.js';
import { SAGA_STATES, SagaRecordSchema } from '../../system/stores/saga-store.js';
import { parseInput } from '../errors.js';
import { requireUser } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { paging, queryRecord } from '../schemas/executions.js';
import { pathParam } from './params.js';

/** GET /sagas/ query. */
export const SagaListQuery = z.object({
  state: z.enum(SAGA_STATES).optional(),
  execution_id: z.string().min(1).max(256).optional(),
  ...paging(100, 1000),
});

/** One saga as the API returns it. */
export const SagaStatusSchema = SagaRecordSchema.omit({ id: true }).extend({ retry_count: z.number().int() });
const SagaListSchema = z.object({
  sagas: z.array(SagaStatusSchema),
  total: z.number().int(),
  skip: z.number().int(),
  limit: z.number().int(),
  has_more: z.boolean(),
});
const SagaCancelSchema = z.object({ success: z.boolean(), message: z.string(), saga_id: z.string() });

/**
 * The sagas API group: list with filters, one saga, the saga of an execution, cancel. Signed-in users see the sagas
 * of their own executions, admins all; cancel goes through the execution cancel command, so the owning node acts.
 */
export function sagaRoutes(sagas: SagaService): RouteGroup {
  const doc = { tag: 'sagas', auth: 'user' as const };
  return (router) => {
    router.get(
      '/api/v1/sagas/',
      async (ctx) => {
        const caller = requireUser(ctx);
        const q = parseInput(SagaListQuery, queryRecord(ctx.query));
        ctx.json(200, await sagas.list(caller, { limit: q.limit, skip: q.skip, ...(q.state ? { state: q.state } : {}), ...(q.execution_id ? { executionId: q.execution_id } : {}) }));
      },
      { ...doc, summary: 'Sagas, newest first (state, execution_id filters)', query: SagaListQuery, response: SagaListSchema },
    );

    router.get(
      '/api/v1/sagas/execution/{execution_id}',
      async (ctx) => {
        const caller = requireUser(ctx);
        ctx.json(200, await sagas.forExecution(pathParam(ctx, 'execution_id'), caller));
      },
      { ...doc, summary: 'The saga of an execution', response: SagaStatusSchema },
    );

    router.get(
      '/api/v1/sagas/{saga_id}',
      async (ctx) => {
        const caller = requireUser(ctx);
        ctx.json(200, await sagas.get(pathParam(ctx, 'saga_id'), caller));
      },
      { ...doc, summary: "A saga's state and steps", response: SagaStatusSchema },
    );

    router.post(
      '/api/v1/sagas/{saga_id}/cancel',
      async (ctx) => {
        const caller = requireUser(ctx);
        ctx.json(200, await sagas.cancel(pathParam(ctx, 'saga_id'), caller));
      },
      { ...doc, summary: 'Cancel a running saga: its compensations stop the sandbox and release the slot', response: SagaCancelSchema },
    );
  };
}
