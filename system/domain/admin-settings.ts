import { z } from 'zod';

/** System settings an admin can change at run time (GET/PUT /api/v1/admin/settings). Each is applied where it is read. */
export const AdminSettingsSchema = z.object({
  max_timeout_seconds: z.number().int().min(1).max(3600),
  memory_limit: z.string().regex(/^\d+(Mi|Gi)$/, 'like 256Mi or 1Gi'),
  cpu_limit: z.string().regex(/^\d+m$/, 'like 1000m'),
  max_concurrent_executions: z.number().int().min(1).max(10_000),
  password_min_length: z.number().int().min(8).max(128),
  session_timeout_minutes: z.number().int().min(1).max(60 * 24 * 30),
  max_login_attempts: z.number().int().min(1).max(100),
  lockout_duration_minutes: z.number().int().min(1).max(60 * 24),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  enable_tracing: z.boolean(),
  sampling_rate: z.number().min(0).max(1),
});
export type AdminSettings = z.infer<typeof AdminSettingsSchema>;

/** Reads the settings in force; cheap enough for every request. */
export type SettingsReader = () => AdminSettings;
