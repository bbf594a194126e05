import { z } from 'zod';
import {
  CustomKeySchema,
  CustomSettingsSchema,
  EditorSettingsSchema,
  NotificationPrefsSchema,
  SETTINGS_LIMITS,
  SettingsValuesSchema,
  THEMES,
  type JsonValue,
} from '../../system/domain/user-settings.js';
import type { UserSettingsService } from '../../system/services/user-settings.js';
import { parseInput } from '../errors.js';
import { requireUser } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { pathParam } from './params.js';

/** PUT /user/settings/ body: any subset; notifications and editor merge field by field, custom_settings is replaced. */
export const UpdateSettingsBody = SettingsValuesSchema.partial().extend({
  notifications: NotificationPrefsSchema.partial().optional(),
  editor: EditorSettingsSchema.partial().optional(),
  custom_settings: CustomSettingsSchema.optional(),
});
/** PUT /user/settings/theme body. */
export const ThemeBody = z.object({ theme: z.enum(THEMES) });
/** PUT /user/settings/notifications body (fields not given keep their value). */
export const NotificationPrefsBody = NotificationPrefsSchema.partial();
/** PUT /user/settings/editor body (fields not given keep their value). */
export const EditorBody = EditorSettingsSchema.partial();
/** PUT /user/settings/custom/{key} body: the value itself, any JSON; null removes the key. */
export const CustomValueBody = z.json();
/** GET /user/settings/history query. */
export const HistoryQuery = z.object({ limit: z.coerce.number().int().min(1).max(SETTINGS_LIMITS.historyMax).default(50) });
/** POST /user/settings/restore body: an ISO 8601 date-time (UTC when it has no offset). */
export const RestoreBody = z.object({
  timestamp: z.iso.datetime({ offset: true, local: true }).transform((s) => new Date(/([zZ]|[+-]\d{2}:?\d{2})$/.test(s) ? s : `${s}Z`)),
  reason: z.string().max(500).optional(),
});

const SettingsResponse = SettingsValuesSchema.extend({
  user_id: z.string(),
  version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
const HistoryResponse = z.object({
  history: z.array(
    z.object({
      event_id: z.string(),
      timestamp: z.string(),
      event_type: z.literal('user_settings_updated'),
      field: z.string(),
      old_value: z.json(),
      new_value: z.json(),
      reason: z.string().nullable(),
      correlation_id: z.string().nullable(),
    }),
  ),
  total: z.number().int(),
});

/** What the user-settings API group needs. */
export interface UserSettingsRoutesDeps {
  settings: UserSettingsService;
}

/** The user-settings API group: the caller's settings, partial updates, history and restore-to-time. */
export function userSettingsRoutes(deps: UserSettingsRoutesDeps): RouteGroup {
  const { settings } = deps;
  const base = '/api/v1/user/settings';
  const doc = { tag: 'user-settings', auth: 'user' as const, response: SettingsResponse };
  return (router) => {
    router.get(
      `${base}/`,
      async (ctx) => {
        ctx.json(200, await settings.get(requireUser(ctx).userId));
      },
      { ...doc, summary: 'Your settings (defaults until you change something)' },
    );

    router.put(
      `${base}/`,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(UpdateSettingsBody, await ctx.body.json());
        ctx.json(200, await settings.update(user.userId, body));
      },
      { ...doc, summary: 'Change some settings (stored as one change event)', body: UpdateSettingsBody },
    );

    router.put(
      `${base}/theme`,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(ThemeBody, await ctx.body.json());
        ctx.json(200, await settings.update(user.userId, { theme: body.theme }));
      },
      { ...doc, summary: 'Change the theme', body: ThemeBody },
    );

    router.put(
      `${base}/notifications`,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(NotificationPrefsBody, await ctx.body.json());
        ctx.json(200, await settings.update(user.userId, { notifications: body }));
      },
      { ...doc, summary: 'Change notification preferences', body: NotificationPrefsBody },
    );

    router.put(
      `${base}/editor`,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(EditorBody, await ctx.body.json());
        ctx.json(200, await settings.update(user.userId, { editor: body }));
      },
      { ...doc, summary: 'Change editor preferences', body: EditorBody },
    );

    router.put(
      `${base}/custom/{key}`,
      async (ctx) => {
        const user = requireUser(ctx);
        const { key } = parseInput(z.object({ key: CustomKeySchema }), { key: pathParam(ctx, 'key') });
        const value = parseInput(CustomValueBody, await ctx.body.json()) as JsonValue;
        ctx.json(200, await settings.setCustom(user.userId, key, value));
      },
      { ...doc, summary: 'Set one custom setting (the body is its JSON value; null removes it)', body: CustomValueBody },
    );

    router.get(
      `${base}/history`,
      async (ctx) => {
        const user = requireUser(ctx);
        const query = parseInput(HistoryQuery, Object.fromEntries(ctx.query));
        const history = await settings.history(user.userId, query.limit);
        ctx.json(200, { history, total: history.length });
      },
      { ...doc, summary: 'Your settings changes, newest first', query: HistoryQuery, response: HistoryResponse },
    );

    router.post(
      `${base}/restore`,
      async (ctx) => {
        const user = requireUser(ctx);
        const body = parseInput(RestoreBody, await ctx.body.json());
        ctx.json(200, await settings.restore(user.userId, body.timestamp, body.reason));
      },
      { ...doc, summary: 'Restore the settings in force at a time, as a new change', body: RestoreBody },
    );
  };
}
