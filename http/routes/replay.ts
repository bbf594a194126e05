import { z } from 'zod';
import { REPLAY_STATUSES, REPLAY_TARGETS, REPLAY_TYPES, ReplayConfigSchema, ReplayErrorSchema, ReplayInstant, isReplayFinished } from '../../system/domain/replay.js';
import type { ReplayService } from '../../system/services/replay/service.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { pathParam } from './params.js';

const Text = z.string().min(1).max(256);

/** GET /replay/sessions query. */
export const ListQuery = z.object({ status: z.enum(REPLAY_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });
/** POST /replay/cleanup query. */
export const CleanupQuery = z.object({ older_than_hours: z.coerce.number().int().min(1).max(100_000).default(24) });
/** POST /admin/events/replay body. */
export const AdminReplayBody = z
  .object({
    event_ids: z.array(Text).max(10_000).nullish(),
    aggregate_id: Text.nullish(),
    correlation_id: Text.nullish(),
    start_time: ReplayInstant.nullish(),
    end_time: ReplayInstant.nullish(),
    target_service: Text.nullish(),
    dry_run: z.boolean().default(true),
  })
  .strict();

const Status = z.enum(REPLAY_STATUSES);
const ResponseSchema = z.object({ session_id: z.string(), status: Status, message: z.string() });
const progressFields = {
  session_id: z.string(),
  status: Status,
  total_events: z.number().int(),
  replayed_events: z.number().int(),
  failed_events: z.number().int(),
  skipped_events: z.number().int(),
  progress_percentage: z.number(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  owner_node: z.string().nullable(),
  stalled: z.boolean(),
};
const SummarySchema = z.object({
  ...progressFields,
  config: z.object({ replay_type: z.enum(REPLAY_TYPES), target: z.enum(REPLAY_TARGETS) }),
  duration_seconds: z.number().nullable(),
});
const SessionSchema = SummarySchema.extend({
  config: ReplayConfigSchema,
  control: z.enum(['run', 'pause', 'cancel']),
  last_event_at: z.string().nullable(),
  errors: z.array(ReplayErrorSchema),
  cursor: z.string().nullable(),
  lease_expires_at: z.string().nullable(),
  created_by: z.string().nullable(),
  target_service: z.string().nullable(),
  replay_id: z.string(),
  file_name: z.string().nullable(),
  file_path: z.string().nullable(),
});
const CleanupSchema = z.object({ removed_sessions: z.number().int(), message: z.string() });
const AdminReplaySchema = z.object({
  dry_run: z.boolean(),
  total_events: z.number().int(),
  replay_id: z.string(),
  replay_correlation_id: z.string(),
  session_id: z.string().nullable(),
  status: z.string(),
  events_preview: z.array(z.object({ event_id: z.string(), event_type: z.string(), timestamp: z.string(), aggregate_id: z.string() })).nullable(),
});

/** How often the status stream looks at the stored session; default 250 ms. */
export interface ReplayRouteOptions {
  statusEveryMs?: number;
}

/**
 * Replay sessions (role admin): create, start, pause, resume, cancel, list, one, cleanup; and the admin event
 * replay (dry-run preview, or a session started at once) with its progress as SSE. Any node answers: the stored
 * session is the truth, and control reaches the node running the session.
 */
export function replayRoutes(service: ReplayService, options: ReplayRouteOptions = {}): RouteGroup {
  const base = '/api/v1/replay';
  const doc = { tag: 'replay', auth: 'admin' as const };
  return (router, { sse, log }) => {
    router.post(
      `${base}/sessions`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const config = parseInput(ReplayConfigSchema, await ctx.body.json());
        ctx.json(200, await service.create(config, admin.userId));
      },
      { ...doc, summary: 'Create a replay session (status created)', body: ReplayConfigSchema, response: ResponseSchema },
    );

    for (const action of ['start', 'pause', 'resume', 'cancel'] as const) {
      router.post(
        `${base}/sessions/{session_id}/${action}`,
        async (ctx) => {
          requireAdmin(ctx);
          ctx.json(200, await service[action](pathParam(ctx, 'session_id')));
        },
        { ...doc, summary: `${action[0]!.toUpperCase()}${action.slice(1)} a replay session (from any node)`, response: ResponseSchema },
      );
    }

    router.get(
      `${base}/sessions`,
      async (ctx) => {
        requireAdmin(ctx);
        const q = parseInput(ListQuery, Object.fromEntries(ctx.query));
        ctx.json(200, await service.list(q.status ?? null, q.limit));
      },
      { ...doc, summary: 'Replay sessions, newest first', query: ListQuery, response: z.array(SummarySchema) },
    );

    router.get(
      `${base}/sessions/{session_id}`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await service.get(pathParam(ctx, 'session_id')));
      },
      { ...doc, summary: 'One replay session with its configuration, progress, errors, cursor and lease', response: SessionSchema },
    );

    router.post(
      `${base}/cleanup`,
      async (ctx) => {
        requireAdmin(ctx);
        const q = parseInput(CleanupQuery, Object.fromEntries(ctx.query));
        ctx.json(200, await service.cleanup(q.older_than_hours));
      },
      { ...doc, summary: 'Remove finished sessions older than `older_than_hours` (and their files)', query: CleanupQuery, response: CleanupSchema },
    );

    router.post(
      '/api/v1/admin/events/replay',
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const body = parseInput(AdminReplayBody, await ctx.body.json());
        ctx.json(200, await service.adminReplay(body, admin.userId));
      },
      { tag: 'admin-events', auth: 'admin', summary: 'Replay events by ids, aggregate or time: a preview with dry_run, else a session started at once', body: AdminReplayBody, response: AdminReplaySchema },
    );

    router.get(
      '/api/v1/admin/events/replay/{session_id}/status',
      async (ctx) => {
        requireAdmin(ctx);
        const id = pathParam(ctx, 'session_id');
        // A missing session is a plain 404, before the stream opens.
        let snapshot = await service.status(id);
        const stream = sse.open(ctx);
        let last = '';
        let timer: NodeJS.Timeout | undefined;
        let frame = 0;
        const push = async () => {
          try {
            snapshot = await service.status(id);
            const data = JSON.stringify(snapshot);
            if (data !== last) {
              last = data;
              stream.send({ id: String(++frame), event: 'replay_status', data });
            }
            if (isReplayFinished(snapshot.status)) {
              stream.end();
              return;
            }
          } catch (err) {
            log.warn({ err, session_id: id }, 'replay status stream could not read the session');
          }
          timer = setTimeout(() => void push(), options.statusEveryMs ?? 250);
          timer.unref();
        };
        stream.onClosed(() => clearTimeout(timer));
        stream.commit();
        await push();
      },
      { tag: 'admin-events', auth: 'admin', summary: 'Replay progress as SSE (event `replay_status`, a full snapshot when it changes); closes on a terminal status', stream: true },
    );
  };
}
