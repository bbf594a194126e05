import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { loadConfig, type Config } from '../config.js';
import type { AdminSettings } from '../domain/admin-settings.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDataDir } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import { AdminSettingsStore } from '../stores/admin-settings-store.js';
import { applySettings, limitsFromSettings, memoryBytes, openAdminSettings, settingsDefaults } from './admin-settings.js';
import type { Caller } from './types.js';

let dir: TempDir;
let stores: DocumentStore[] = [];
beforeEach(async () => {
  dir = await createTempDir('integr8s-settings-');
});
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
  await dir.cleanup();
});

const admin: Caller = { userId: 'root', role: 'admin', ip: '127.0.0.1' };
const configWith = (env: Record<string, string> = {}): Config =>
  loadConfig({ DATA_DIR: dir.path, SANDBOX_TIMEOUT_SECONDS: '7', SANDBOX_MEMORY_MB: '128', MAX_CONCURRENT_EXECUTIONS: '3', SANDBOX_CPU_MILLICORES: '500', LOG_LEVEL: 'warn', ...env });
/** Opens the service over a fresh connection to the same database file, as a restarted node would. */
const open = async (config: Config) => {
  const store = createSqliteDocumentStore(openDataDir(dir.path));
  stores.push(store);
  return openAdminSettings({ store: new AdminSettingsStore(store), config });
};

describe('admin settings', () => {
  it('defaults come from Config', () => {
    expect(settingsDefaults(configWith())).toEqual({
      max_timeout_seconds: 7,
      memory_limit: '128Mi',
      cpu_limit: '500m',
      max_concurrent_executions: 3,
      password_min_length: 8,
      session_timeout_minutes: 1440,
      max_login_attempts: 5,
      lockout_duration_minutes: 15,
      log_level: 'warn',
      enable_tracing: true,
      sampling_rate: 0.1,
    } satisfies AdminSettings);
    // The tracing defaults: OTEL_TRACES_SAMPLER_ARG is the ratio, OTEL_SDK_DISABLED turns tracing off.
    expect(settingsDefaults(configWith({ OTEL_TRACES_SAMPLER_ARG: '0.25' }))).toMatchObject({ enable_tracing: true, sampling_rate: 0.25 });
    expect(settingsDefaults(configWith({ OTEL_SDK_DISABLED: 'true' }))).toMatchObject({ enable_tracing: false });
  });

  it('a change stored by another node is put in force by refresh(), listeners told, nothing audited; changes are announced', async () => {
    const announced: string[] = [];
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    stores.push(store);
    const here = await openAdminSettings({ store: new AdminSettingsStore(store), config: configWith(), announce: () => announced.push('here') });
    const other = await open(configWith());
    const heard: Array<[number, number]> = [];
    here.onChange((next, prev) => heard.push([prev.sampling_rate, next.sampling_rate]));
    await other.update({ sampling_rate: 0.75, log_level: 'debug' }, admin);
    expect(here.current().sampling_rate).toBe(0.1);
    expect(await here.refresh()).toMatchObject({ sampling_rate: 0.75, log_level: 'debug' });
    expect(here.current().sampling_rate).toBe(0.75);
    await here.refresh();
    expect(heard).toEqual([[0.1, 0.75]]);
    expect(announced).toEqual([]);
    await here.update({ enable_tracing: false }, admin);
    expect(announced).toEqual(['here']);
    expect((await here.audit({ limit: 10, skip: 0 })).total).toBe(2);
  });

  it('changes persist across a restart; fields never changed keep following Config', async () => {
    const first = await open(configWith());
    await first.update({ max_timeout_seconds: 30, memory_limit: '1Gi' }, admin);
    const restarted = await open(configWith({ MAX_CONCURRENT_EXECUTIONS: '5' }));
    expect(restarted.current()).toMatchObject({ max_timeout_seconds: 30, memory_limit: '1Gi', max_concurrent_executions: 5 });
    expect(restarted.limitsFor()).toMatchObject({ wallMs: 30_000, memoryBytes: 1024 * 1024 * 1024 });
  });

  it('audits every change with who, when and old → new per field; no-op updates are not recorded', async () => {
    const s = await open(configWith());
    await s.update({ max_login_attempts: 9, enable_tracing: false }, admin);
    await s.update({ max_login_attempts: 9 }, admin);
    await s.update({ sampling_rate: 0.5 }, { userId: 'other-admin', role: 'admin', ip: '::1' });
    await s.reset(admin);
    const { entries, total } = await s.audit({ limit: 10, skip: 0 });
    expect(total).toBe(3);
    expect(entries.map((e) => [e.action, e.user_id])).toEqual([
      ['reset', 'root'],
      ['update', 'other-admin'],
      ['update', 'root'],
    ]);
    expect(entries[2]!.changes).toEqual([
      { field: 'max_login_attempts', old_value: 5, new_value: 9 },
      { field: 'enable_tracing', old_value: true, new_value: false },
    ]);
    expect(entries[0]!.changes.map((c) => c.field).sort()).toEqual(['enable_tracing', 'max_login_attempts', 'sampling_rate']);
    expect(Date.parse(entries[0]!.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(s.current()).toEqual(settingsDefaults(configWith()));
  });

  it('rejects values the sandbox cannot use, naming the field, and keeps the old ones', async () => {
    const s = await open(configWith());
    await expect(s.update({ memory_limit: '1Mi' }, admin)).rejects.toMatchObject({ kind: 'ValidationError', extra: { fields: [{ field: 'memory_limit' }] } });
    await expect(s.update({ cpu_limit: '5m' }, admin)).rejects.toMatchObject({ kind: 'ValidationError' });
    await expect(s.update({ max_timeout_seconds: 0 } as Partial<AdminSettings>, admin)).rejects.toMatchObject({ kind: 'ValidationError' });
    expect(s.current().memory_limit).toBe('128Mi');
    expect((await s.audit({ limit: 10, skip: 0 })).total).toBe(0);
  });

  it('tells listeners, and applySettings drives the hooks', async () => {
    const s = await open(configWith());
    const seen: Array<[number, string]> = [];
    const hooks = { setMaxConcurrent: (n: number) => seen.push([n, 'max']), setLogLevel: (l: string) => seen.push([0, l]) };
    applySettings(s.current(), hooks);
    applySettings(s.current(), hooks, s.defaults());
    const prevs: number[] = [];
    const off = s.onChange((next, prev) => {
      prevs.push(prev.max_concurrent_executions);
      applySettings(next, hooks, prev);
    });
    await s.update({ max_concurrent_executions: 8, log_level: 'debug' }, admin);
    await s.update({ log_level: 'info' }, admin);
    off();
    await s.update({ max_concurrent_executions: 9 }, admin);
    // Without `prev` everything is pushed; with it, only what changed (nothing at a start without overrides).
    expect(seen).toEqual([
      [3, 'max'],
      [0, 'warn'],
      [8, 'max'],
      [0, 'debug'],
      [0, 'info'],
    ]);
    expect(prevs).toEqual([3, 8]);
  });

  it('limits for new runs: wall time and memory from the settings, the rest from Config', () => {
    const config = configWith();
    const limits = limitsFromSettings(config.limits, { ...settingsDefaults(config), max_timeout_seconds: 12, memory_limit: '2Gi' });
    expect(limits).toEqual({ ...config.limits, wallMs: 12_000, memoryBytes: 2 * 1024 ** 3 });
    expect(memoryBytes('256Mi')).toBe(256 * 1024 ** 2);
  });
});
