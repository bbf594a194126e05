import { z } from 'zod';
import { RATE_LIMIT_ALGORITHMS, RateLimitOverrideSchema, RateLimitRuleSchema } from '../../system/domain/rate-limits.js';
import type { RateLimitService } from '../../system/services/rate-limits.js';
import type { HttpContext } from '../context.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { pathParam } from './params.js';

/** What the admin rate-limit API group needs. */
export interface AdminRateLimitRoutesDeps {
  rateLimits: Pick<RateLimitService, 'defaults' | 'userLimits' | 'setOverride' | 'resetCounters'>;
}

/** The `{user_id}` path parameter. */
export const UserIdParams = z.object({ user_id: z.string().min(1).max(128) });

/** GET /admin/rate-limits/defaults response. */
export const DefaultRulesResponse = z.array(RateLimitRuleSchema);

/** GET and PUT /admin/rate-limits/{user_id} response. */
export const UserRateLimitsResponse = z.object({
  user_id: z.string(),
  has_custom_limits: z.boolean(),
  rate_limit_config: RateLimitOverrideSchema.extend({
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
  }),
  effective_rules: z.array(RateLimitRuleSchema),
  current_usage: z.record(
    z.string(),
    z.object({ algorithm: z.enum(RATE_LIMIT_ALGORITHMS), limit: z.number(), remaining: z.number(), reset_at: z.string() }),
  ),
});

/** POST /admin/rate-limits/{user_id}/reset response. */
export const ResetResponse = z.object({ message: z.string(), cleared: z.number() });

const TAG = 'admin-rate-limits';

/** The admin rate-limit API group: default rules, per-user overrides and counter resets (admins only). */
export function adminRateLimitRoutes(deps: AdminRateLimitRoutesDeps): RouteGroup {
  const { rateLimits } = deps;
  const userId = (ctx: HttpContext): string =>
    parseInput(UserIdParams, { user_id: pathParam(ctx, 'user_id') }).user_id;

  return (router) => {
    router.get(
      '/api/v1/admin/rate-limits/defaults',
      (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, rateLimits.defaults());
      },
      { summary: 'The rate-limit rules every caller gets', tag: TAG, response: DefaultRulesResponse, auth: 'admin' },
    );

    router.get(
      '/api/v1/admin/rate-limits/{user_id}',
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await rateLimits.userLimits(userId(ctx)));
      },
      { summary: "A user's rate-limit override, the rules in force and current usage", tag: TAG, response: UserRateLimitsResponse, auth: 'admin' },
    );

    router.put(
      '/api/v1/admin/rate-limits/{user_id}',
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const id = userId(ctx);
        const override = parseInput(RateLimitOverrideSchema, await ctx.body.json());
        ctx.json(200, await rateLimits.setOverride(id, override, admin.userId));
      },
      {
        summary: "Replaces a user's rate-limit override",
        tag: TAG,
        body: RateLimitOverrideSchema,
        response: UserRateLimitsResponse,
        auth: 'admin',
      },
    );

    router.post(
      '/api/v1/admin/rate-limits/{user_id}/reset',
      async (ctx) => {
        requireAdmin(ctx);
        const id = userId(ctx);
        const cleared = await rateLimits.resetCounters(id);
        ctx.json(200, { message: `Rate limits reset for user ${id}`, cleared });
      },
      { summary: "Clears a user's rate-limit counters", tag: TAG, response: ResetResponse, auth: 'admin' },
    );
  };
}
