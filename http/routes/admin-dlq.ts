import { z } from 'zod';
import type { DeadLetterService } from '../../system/services/dead-letters.js';
import { DEAD_LETTER_STATUSES, DeadLetterSchema } from '../../system/stores/dead-letter-store.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { queryRecord } from '../schemas/executions.js';
import { pathParam } from './params.js';

const Name = z.string().min(1).max(256);

/** GET /admin/dlq/messages query. */
export const DeadLetterListQuery = z.object({
  status: z.enum(DEAD_LETTER_STATUSES).optional(),
  topic: Name.optional(),
  event_type: Name.optional(),
  consumer_group: Name.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});
/** POST /admin/dlq/retry body. */
export const BatchRetryBody = z.object({ message_ids: z.array(Name).min(1).max(1000) });
/** DELETE /admin/dlq/messages/{id} query: why it is discarded (kept in the audit archive). */
export const DiscardQuery = z.object({ reason: z.string().trim().min(1).max(1000) });

const DeadLetterViewSchema = DeadLetterSchema.omit({ id: true }).extend({ message_id: z.string(), event: z.unknown(), age_seconds: z.number() });
const DeadLetterPageSchema = z.object({ messages: z.array(DeadLetterViewSchema), total: z.number().int(), offset: z.number().int(), limit: z.number().int() });
const BatchRetrySchema = z.object({
  total: z.number().int(),
  successful: z.number().int(),
  failed: z.number().int(),
  details: z.array(z.object({ message_id: z.string(), status: z.enum(['retried', 'failed']), error: z.string().optional() })),
});
const DiscardSchema = z.object({ message: z.string(), message_id: z.string() });
const StatsSchema = z.object({
  depth: z.number().int(),
  oldest_age_seconds: z.number(),
  by_status: z.record(z.enum(DEAD_LETTER_STATUSES), z.number().int()),
});

/**
 * The dead-letter admin API group (role admin): list and inspect messages that failed every attempt, retry one or
 * many (appended again to their original topic with their original key and headers), discard with a reason.
 */
export function adminDlqRoutes(dlq: DeadLetterService): RouteGroup {
  const base = '/api/v1/admin/dlq';
  const doc = { tag: 'admin-dlq', auth: 'admin' as const };
  return (router) => {
    router.get(
      `${base}/messages`,
      async (ctx) => {
        requireAdmin(ctx);
        const q = parseInput(DeadLetterListQuery, queryRecord(ctx.query));
        ctx.json(
          200,
          await dlq.list({
            limit: q.limit,
            offset: q.offset,
            ...(q.status ? { status: q.status } : {}),
            ...(q.topic ? { topic: q.topic } : {}),
            ...(q.event_type ? { eventType: q.event_type } : {}),
            ...(q.consumer_group ? { consumerGroup: q.consumer_group } : {}),
          }),
        );
      },
      { ...doc, summary: 'Dead letters, newest first (status, topic, event_type, consumer_group filters)', query: DeadLetterListQuery, response: DeadLetterPageSchema },
    );

    router.get(
      `${base}/stats`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await dlq.stats());
      },
      { ...doc, summary: 'Dead letters waiting (depth), the age of the oldest, counts by status', response: StatsSchema },
    );

    router.get(
      `${base}/messages/{message_id}`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await dlq.get(pathParam(ctx, 'message_id')));
      },
      { ...doc, summary: 'One dead letter: error, original coordinates, payload and headers', response: DeadLetterViewSchema },
    );

    router.post(
      `${base}/messages/{message_id}/retry`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        ctx.json(200, await dlq.retry(pathParam(ctx, 'message_id'), admin.userId));
      },
      { ...doc, summary: 'Append a dead letter again to its original topic (original key and headers)', response: DeadLetterViewSchema },
    );

    router.post(
      `${base}/retry`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const body = parseInput(BatchRetryBody, await ctx.body.json());
        ctx.json(200, await dlq.retryMany(body.message_ids, admin.userId));
      },
      { ...doc, summary: 'Retry many dead letters; each one reports its own outcome', body: BatchRetryBody, response: BatchRetrySchema },
    );

    router.delete(
      `${base}/messages/{message_id}`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const q = parseInput(DiscardQuery, queryRecord(ctx.query));
        ctx.json(200, await dlq.discard(pathParam(ctx, 'message_id'), q.reason, admin.userId));
      },
      { ...doc, summary: 'Discard a dead letter with a reason (moved to the audit archive)', query: DiscardQuery, response: DiscardSchema },
    );
  };
}
