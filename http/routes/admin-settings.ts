import { AdminSettingsSchema } from '../../system/domain/admin-settings.js';
import type { AdminSettingsService } from '../../system/services/admin-settings.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { SettingsAuditPageSchema, SettingsAuditQuery, SettingsPatch } from '../schemas/admin.js';
import { queryRecord } from '../schemas/executions.js';

const tag = 'admin-settings';

/** The admin settings API group (role admin): read, change (partially), reset, and the audit trail of changes. */
export function adminSettingsRoutes(settings: AdminSettingsService): RouteGroup {
  return (router) => {
    router.get(
      '/api/v1/admin/settings/',
      (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, settings.current());
      },
      { summary: 'System settings in force', tag, auth: 'admin', response: AdminSettingsSchema },
    );

    router.put(
      '/api/v1/admin/settings/',
      async (ctx) => {
        const caller = requireAdmin(ctx);
        const patch = parseInput(SettingsPatch, await ctx.body.json());
        ctx.json(200, await settings.update(patch, caller));
      },
      { summary: 'Change system settings (fields left out keep their value); audited', tag, auth: 'admin', body: SettingsPatch, response: AdminSettingsSchema },
    );

    router.post(
      '/api/v1/admin/settings/reset',
      async (ctx) => {
        const caller = requireAdmin(ctx);
        ctx.json(200, await settings.reset(caller));
      },
      { summary: 'Reset system settings to the configured defaults; audited', tag, auth: 'admin', response: AdminSettingsSchema },
    );

    router.get(
      '/api/v1/admin/settings/audit',
      async (ctx) => {
        requireAdmin(ctx);
        const page = parseInput(SettingsAuditQuery, queryRecord(ctx.query));
        ctx.json(200, await settings.audit(page));
      },
      { summary: 'Audit trail of settings changes, newest first: who, when, old → new per field', tag, auth: 'admin', query: SettingsAuditQuery, response: SettingsAuditPageSchema },
    );
  };
}
