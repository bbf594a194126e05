/**
 * User settings, event-sourced: every change is a `user_settings_updated` event listing the changed paths
 * with old and new values, and the settings in force are the defaults with every event applied in order.
 */
import { z } from 'zod';
import type { DomainEventOf } from './events.js';
import { isTimeZone, NOTIFICATION_CHANNELS } from './notifications.js';

/** Any JSON value (custom settings and change values). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** UI themes a user can pick. */
export const THEMES = ['auto', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

/** Caps on what one user may keep. */
export const SETTINGS_LIMITS = { customKeyChars: 100, customSettingsBytes: 64 * 1024, historyMax: 1000 } as const;

/** Code editor preferences (font 8–32 px, tabs of 2, 4 or 8). */
export const EditorSettingsSchema = z.object({
  theme: z.string().min(1).max(50),
  font_size: z.number().int().min(8).max(32),
  tab_size: z.union([z.literal(2), z.literal(4), z.literal(8)]),
  use_tabs: z.boolean(),
  word_wrap: z.boolean(),
  show_line_numbers: z.boolean(),
});
export type EditorSettings = z.infer<typeof EditorSettingsSchema>;

/** Which notifications the user wants; the toggles gate execution notifications. */
export const NotificationPrefsSchema = z.object({
  execution_completed: z.boolean(),
  execution_failed: z.boolean(),
  system_updates: z.boolean(),
  security_alerts: z.boolean(),
  channels: z.array(z.enum(NOTIFICATION_CHANNELS)),
});
export type NotificationPrefs = z.infer<typeof NotificationPrefsSchema>;

/** A custom setting's key: 1–100 characters, not a name that would reach an object's prototype. */
export const CustomKeySchema = z
  .string()
  .min(1)
  .max(SETTINGS_LIMITS.customKeyChars)
  .refine((k) => !RESERVED_KEYS.has(k), 'reserved key');

const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Free-form settings of the client, up to 64 KB of JSON. */
export const CustomSettingsSchema = z
  .record(CustomKeySchema, z.json())
  .refine((m) => JSON.stringify(m).length <= SETTINGS_LIMITS.customSettingsBytes, `at most ${SETTINGS_LIMITS.customSettingsBytes} bytes of JSON`);

/** The user-changeable part of the settings. */
export const SettingsValuesSchema = z.object({
  theme: z.enum(THEMES),
  timezone: z.string().min(1).max(64).refine(isTimeZone, 'unknown time zone'),
  date_format: z.string().min(1).max(32),
  time_format: z.string().min(1).max(16),
  notifications: NotificationPrefsSchema,
  editor: EditorSettingsSchema,
  custom_settings: CustomSettingsSchema,
});
/** The changeable settings, with custom values typed as JSON. */
export type SettingsValues = Omit<z.infer<typeof SettingsValuesSchema>, 'custom_settings'> & { custom_settings: Record<string, JsonValue> };

/** Settings of a user who never changed anything. */
export const DEFAULT_SETTINGS: SettingsValues = {
  theme: 'auto',
  timezone: 'UTC',
  date_format: 'YYYY-MM-DD',
  time_format: '24h',
  notifications: { execution_completed: true, execution_failed: true, system_updates: true, security_alerts: true, channels: ['in_app'] },
  editor: { theme: 'auto', font_size: 14, tab_size: 4, use_tabs: false, word_wrap: true, show_line_numbers: true },
  custom_settings: {},
};

/** The settings in force for one user, as the API returns them. */
export interface UserSettings extends SettingsValues {
  user_id: string;
  /** 1 for the defaults, +1 per stored change event. */
  version: number;
  created_at: string;
  updated_at: string;
}

/** A partial update; nested groups merge field by field, custom_settings is replaced as a whole. */
export interface SettingsPatch {
  theme?: Theme;
  timezone?: string;
  date_format?: string;
  time_format?: string;
  notifications?: Partial<NotificationPrefs>;
  editor?: Partial<EditorSettings>;
  custom_settings?: Record<string, JsonValue>;
}

/** One changed value: `['theme']`, `['editor', 'font_size']`, `['custom_settings', key]` (null there means removed). */
export interface SettingChange {
  path: string[];
  old_value: JsonValue;
  new_value: JsonValue;
}

/** The stored change event. */
export type SettingsEvent = DomainEventOf<'user_settings_updated'>;

/** The aggregate id of a user's settings events. */
export function settingsAggregateId(userId: string): string {
  return `user_settings:${userId}`;
}

const SCALARS = ['theme', 'timezone', 'date_format', 'time_format'] as const;
const GROUPS = ['notifications', 'editor'] as const;

/** The values after a patch. */
export function mergePatch(values: SettingsValues, patch: SettingsPatch): SettingsValues {
  const next = clone(values);
  for (const key of SCALARS) if (patch[key] !== undefined) (next as Record<string, unknown>)[key] = patch[key];
  if (patch.notifications) next.notifications = { ...next.notifications, ...definedOnly(patch.notifications) };
  if (patch.editor) next.editor = { ...next.editor, ...definedOnly(patch.editor) };
  if (patch.custom_settings) next.custom_settings = withoutNulls(patch.custom_settings);
  return next;
}

/** The values with one custom setting set; null removes it. */
export function withCustom(values: SettingsValues, key: string, value: JsonValue): SettingsValues {
  const next = clone(values);
  if (value === null) delete next.custom_settings[key];
  else setOwn(next.custom_settings, key, value);
  return next;
}

/** Every leaf that differs from `a` to `b`, in a stable order. */
export function diffSettings(a: SettingsValues, b: SettingsValues): SettingChange[] {
  const changes: SettingChange[] = [];
  const push = (path: string[], x: JsonValue | undefined, y: JsonValue | undefined) => {
    if (!sameJson(x ?? null, y ?? null)) changes.push({ path, old_value: x ?? null, new_value: y ?? null });
  };
  for (const key of SCALARS) push([key], a[key], b[key]);
  for (const group of GROUPS) {
    const x = a[group] as Record<string, JsonValue>;
    const y = b[group] as Record<string, JsonValue>;
    for (const key of Object.keys({ ...x, ...y })) push([group, key], x[key], y[key]);
  }
  for (const key of Object.keys({ ...a.custom_settings, ...b.custom_settings }).sort()) {
    push(['custom_settings', key], a.custom_settings[key], b.custom_settings[key]);
  }
  return changes;
}

/** Applies changes in order; a change that would make the settings invalid (e.g. written under older rules) is skipped. */
export function applyChanges(values: SettingsValues, changes: readonly SettingChange[]): SettingsValues {
  let current = values;
  for (const change of changes) {
    const candidate = setPath(current, change.path, change.new_value);
    if (candidate && SettingsValuesSchema.safeParse(candidate).success) current = candidate;
  }
  return current;
}

/** Folds stored events onto a starting point (a snapshot, or the defaults when null). */
export function foldSettings(userId: string, start: UserSettings | null, events: readonly SettingsEvent[], now: string): UserSettings {
  let values = start ? pickValues(start) : clone(DEFAULT_SETTINGS);
  for (const event of events) values = applyChanges(values, event.changes as SettingChange[]);
  const first = events[0]?.timestamp;
  const last = events[events.length - 1]?.timestamp;
  return {
    user_id: userId,
    ...values,
    version: (start?.version ?? 1) + events.length,
    created_at: start?.created_at ?? first ?? now,
    updated_at: last ?? start?.updated_at ?? now,
  };
}

/** The changeable values of a settings object. */
export function pickValues(s: SettingsValues): SettingsValues {
  const { theme, timezone, date_format, time_format, notifications, editor, custom_settings } = s;
  return clone({ theme, timezone, date_format, time_format, notifications, editor, custom_settings });
}

function setPath(values: SettingsValues, path: readonly string[], value: JsonValue): SettingsValues | null {
  const [top, key] = path;
  if (top === undefined || !(top in values)) return null;
  const next = clone(values) as unknown as Record<string, JsonValue>;
  if (key === undefined) {
    setOwn(next, top, clone(value));
    return next as unknown as SettingsValues;
  }
  const group = next[top];
  if (typeof group !== 'object' || group === null || Array.isArray(group)) return null;
  if (top === 'custom_settings' && value === null) delete group[key];
  else setOwn(group, key, clone(value));
  return next as unknown as SettingsValues;
}

/** Sets an own property even for names like `__proto__`, which plain assignment would treat specially. */
function setOwn(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Structural JSON equality (object key order does not matter). */
export function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i] as JsonValue));
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k] as JsonValue, b[k] as JsonValue));
}

function withoutNulls(map: Record<string, JsonValue>): Record<string, JsonValue> {
  return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== null));
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
