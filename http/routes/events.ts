import { z } from 'zod';
import type { ExecutionService } from '../../system/services/types.js';
import { requireUser } from '../guards.js';
import { describeError, type HttpLogger } from '../log.js';
import type { Router } from '../router.js';
import type { SseHub } from '../sse.js';
import { pathParam } from './params.js';

/** What the SSE API group needs. */
export interface EventRoutesDeps {
  executions: ExecutionService;
  sse: SseHub;
  log: HttpLogger;
}

/** Registers the SSE streams. Access errors raised before the first frame are ordinary HTTP errors. */
export function register(router: Router, deps: EventRoutesDeps): void {
  const { executions, sse, log } = deps;

  router.get(
    '/api/v1/events/executions/{id}',
    async (ctx) => {
      const caller = requireUser(ctx);
      const lastEventId = ctx.header('last-event-id') || ctx.query.get('last_event_id') || null;
      const stream = sse.open(ctx);
      try {
        await executions.openStream(pathParam(ctx, 'id'), caller, lastEventId, stream);
      } catch (err) {
        if (!stream.committed) {
          stream.discard();
          throw err;
        }
        log.error({ path: ctx.path, ...describeError(err) }, 'execution stream failed after it started');
        stream.end();
        return;
      }
      // Headers go out now even if the service has nothing to say yet (no-op once the stream ended).
      stream.commit();
    },
    {
      summary:
        "Live progress and output of an execution (SSE; owner or admin): status first, execution_output frames while it runs, closes after the terminal frame",
      tag: 'events',
      auth: 'user',
      stream: true,
      query: z.object({ last_event_id: z.string().optional() }),
    },
  );
}
