import { AdminSettingsSchema, type AdminSettings, type SettingsReader } from '../domain/admin-settings.js';
import { errors, type FieldError } from '../domain/errors.js';
import { resolveLimits, type Limits } from '../domain/limits.js';
import type { Config } from '../config.js';
import type { AdminSettingsStore, SettingChange, SettingsAuditEntry } from '../stores/admin-settings-store.js';
import type { Caller } from './types.js';

const MiB = 1024 * 1024;
type Field = keyof AdminSettings;
const FIELDS = Object.keys(AdminSettingsSchema.shape) as Field[];
const LOG_LEVELS = AdminSettingsSchema.shape.log_level.options;

/** Called after a change is stored, with the settings now in force and the ones before. */
export type SettingsListener = (next: AdminSettings, prev: AdminSettings) => void;

/** What the node lets settings change at run time (the rest is read where it is used, through `current()`). */
export interface SettingsHooks {
  setMaxConcurrent(n: number): void;
  setLogLevel(level: AdminSettings['log_level']): void;
}

/** A page of the settings audit trail. */
export interface SettingsAuditPage {
  entries: SettingsAuditEntry[];
  total: number;
  limit: number;
  skip: number;
  has_more: boolean;
}

/** Run-time system settings: defaults from Config, admin overrides persisted, every change audited. */
export interface AdminSettingsService {
  /** The settings in force (a SettingsReader: synchronous and cheap). */
  readonly current: SettingsReader;
  /** What a reset returns to: derived from Config. */
  defaults(): AdminSettings;
  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: SettingsListener): () => void;
  /** Applies a partial change (fields left out keep their value); 422 naming fields that cannot be applied. */
  update(patch: Partial<AdminSettings>, caller: Caller): Promise<AdminSettings>;
  /** Drops every override: back to the Config defaults. */
  reset(caller: Caller): Promise<AdminSettings>;
  /**
   * Reads the stored overrides again (another node changed them) and puts them in force; listeners hear of a change
   * as with update. Nothing is audited: the node that made the change did that.
   */
  refresh(): Promise<AdminSettings>;
  /** The audit trail, newest first. */
  audit(page: { limit: number; skip: number }): Promise<SettingsAuditPage>;
  /** Limits for a new run: Config's, with wallMs and memoryBytes from the settings in force. */
  limitsFor(): Limits;
  /** The CPU share reported as cpu_limit (millicores). */
  cpuMillicores(): number;
}

/** The settings a node starts with before any admin change, derived from its Config. */
export function settingsDefaults(config: Config): AdminSettings {
  const level = LOG_LEVELS.find((l) => l === config.logLevel) ?? 'info';
  return AdminSettingsSchema.parse({
    max_timeout_seconds: Math.max(1, Math.round(config.limits.wallMs / 1000)),
    memory_limit: `${Math.max(1, Math.round(config.limits.memoryBytes / MiB))}Mi`,
    cpu_limit: `${config.cpuMillicores}m`,
    max_concurrent_executions: config.maxConcurrentExecutions,
    password_min_length: 8,
    session_timeout_minutes: 60 * 24,
    max_login_attempts: 5,
    lockout_duration_minutes: 15,
    log_level: level,
    // Read by the tracing SDK's sampler (system/telemetry/tracing.ts); OTEL_SDK_DISABLED=true turns tracing off.
    enable_tracing: config.tracing !== null,
    sampling_rate: config.tracing?.samplingRatio ?? 0.1,
  });
}

/** Bytes of a Kubernetes-style memory quantity (`256Mi`, `1Gi`). */
export function memoryBytes(quantity: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`not a memory quantity: ${quantity}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 * MiB : MiB);
}

/** Millicores of a Kubernetes-style CPU quantity (`1000m`). */
export function millicores(quantity: string): number {
  const m = /^(\d+)m$/.exec(quantity);
  if (!m) throw new Error(`not a CPU quantity: ${quantity}`);
  return Number(m[1]);
}

/** Limits for new runs from Config's limits and the settings: the one place settings become Limits. */
export function limitsFromSettings(base: Limits, s: AdminSettings): Limits {
  return resolveLimits(base, { wallMs: s.max_timeout_seconds * 1000, memoryBytes: memoryBytes(s.memory_limit) });
}

/**
 * Pushes the settings that act on running machinery into it. With `prev`, only what differs from it: at start pass
 * `defaults()` (the node booted its logger and admission from Config), on a change the listener's `prev`.
 */
export function applySettings(s: AdminSettings, hooks: SettingsHooks, prev?: AdminSettings): void {
  if (prev?.max_concurrent_executions !== s.max_concurrent_executions) hooks.setMaxConcurrent(s.max_concurrent_executions);
  if (prev?.log_level !== s.log_level) hooks.setLogLevel(s.log_level);
}

/** Bounds the schema cannot express but the sandbox needs (the same ranges the environment accepts). */
function unusable(s: AdminSettings): FieldError[] {
  const out: FieldError[] = [];
  const mem = memoryBytes(s.memory_limit) / MiB;
  if (mem < 16 || mem > 65_536) out.push({ field: 'memory_limit', message: 'must be between 16Mi and 64Gi' });
  const cpu = millicores(s.cpu_limit);
  if (cpu < 10 || cpu > 64_000) out.push({ field: 'cpu_limit', message: 'must be between 10m and 64000m' });
  return out;
}

function diff(prev: AdminSettings, next: AdminSettings): SettingChange[] {
  return FIELDS.filter((f) => prev[f] !== next[f]).map((f) => ({ field: f, old_value: prev[f], new_value: next[f] }));
}

/** Loads the stored overrides and returns the service. */
export async function openAdminSettings(deps: {
  store: AdminSettingsStore;
  config: Config;
  log?: { error(obj: object, msg: string): void };
  /** Called after this node stored a change, to tell the other nodes (which then call refresh()). */
  announce?: () => void;
}): Promise<AdminSettingsService> {
  const defaults = settingsDefaults(deps.config);
  let settings: AdminSettings = AdminSettingsSchema.parse({ ...defaults, ...(await deps.store.overrides()) });
  let limits = limitsFromSettings(deps.config.limits, settings);
  const listeners = new Set<SettingsListener>();
  // One change at a time, so each audit entry's old values are what the previous change left.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = tail.then(f, f);
    tail = run.catch(() => undefined);
    return run;
  };

  const commit = async (next: AdminSettings, action: 'update' | 'reset', caller: Caller): Promise<AdminSettings> => {
    const problems = unusable(next);
    if (problems.length) throw errors.validation(problems);
    const changes = diff(settings, next);
    if (changes.length === 0 && action === 'update') return settings;
    // Overrides are the fields that differ from the defaults, so a later Config change still reaches the rest.
    const nextOverrides = Object.fromEntries(FIELDS.filter((f) => next[f] !== defaults[f]).map((f) => [f, next[f]])) as Partial<AdminSettings>;
    await deps.store.record({ user_id: caller.userId, action, changes });
    await deps.store.saveOverrides(nextOverrides, caller.userId);
    putInForce(next);
    deps.announce?.();
    return settings;
  };

  const putInForce = (next: AdminSettings) => {
    const prev = settings;
    settings = next;
    limits = limitsFromSettings(deps.config.limits, settings);
    for (const listener of listeners) {
      try {
        listener(next, prev);
      } catch (err) {
        deps.log?.error({ err }, 'settings listener failed');
      }
    }
  };

  return {
    current: () => settings,
    defaults: () => defaults,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    update: (patch, caller) =>
      serial(() => {
        const parsed = AdminSettingsSchema.safeParse({ ...settings, ...patch });
        if (!parsed.success) {
          throw errors.validation(parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || 'body', message: i.message })));
        }
        return commit(parsed.data, 'update', caller);
      }),
    reset: (caller) => serial(() => commit(defaults, 'reset', caller)),
    refresh: () =>
      serial(async () => {
        const parsed = AdminSettingsSchema.safeParse({ ...defaults, ...(await deps.store.overrides()) });
        if (parsed.success && diff(settings, parsed.data).length > 0) putInForce(parsed.data);
        return settings;
      }),
    async audit(page) {
      const { entries, total } = await deps.store.audit(page);
      return { entries, total, limit: page.limit, skip: page.skip, has_more: page.skip + entries.length < total };
    },
    limitsFor: () => limits,
    cpuMillicores: () => millicores(settings.cpu_limit),
  };
}
