import { z } from 'zod';
import { AppError } from '../../system/domain/errors.js';
import type { HealthService } from '../../system/services/types.js';
import { JSON_HEADERS } from '../context.js';
import type { Router } from '../router.js';

/** What the health API group needs. */
export interface HealthRoutesDeps {
  health: HealthService;
}

const LiveSchema = z.object({ status: z.literal('ok'), uptime_seconds: z.number(), timestamp: z.string() });
const ReadySchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string() })),
});


/** Registers liveness and readiness probes; readiness answers 503 with the failing checks. */
export function register(router: Router, deps: HealthRoutesDeps): void {
  const { health } = deps;

  // Probes and load balancers ask often: an answer is built once per millisecond (it would not differ within one).
  let answer = { atMs: -1, body: '' };
  router.get(
    '/api/v1/health/live',
    (ctx) => {
      const now = Date.now();
      if (answer.atMs !== now) answer = { atMs: now, body: JSON.stringify(health.live()) };
      ctx.send(200, answer.body, JSON_HEADERS);
    },
    { summary: 'Liveness: the process answers', tag: 'health', auth: 'public', response: LiveSchema },
  );

  router.get(
    '/api/v1/health/ready',
    async (ctx) => {
      const report = await health.ready();
      if (report.status !== 'ok') {
        const failing = Object.keys(report.checks).filter((name) => !report.checks[name]?.ok);
        throw new AppError('ServiceUnavailable', `Not ready: ${failing.join(', ') || 'unknown'}`, { body: { ...report } });
      }
      ctx.json(200, report);
    },
    { summary: 'Readiness: every dependency of the node answers (503 naming the failing ones)', tag: 'health', auth: 'public', response: ReadySchema },
  );
}
