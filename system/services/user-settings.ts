import { errors } from '../domain/errors.js';
import { stampEvent } from '../domain/events.js';
import {
  diffSettings,
  foldSettings,
  mergePatch,
  pickValues,
  SETTINGS_LIMITS,
  settingsAggregateId,
  SettingsValuesSchema,
  withCustom,
  type JsonValue,
  type SettingsPatch,
  type SettingsValues,
  type UserSettings,
} from '../domain/user-settings.js';
import type { SettingsStore } from '../stores/settings-store.js';

/** What the user-settings service needs. */
export interface UserSettingsServiceDeps {
  store: SettingsStore;
  clock?: () => Date;
}

/** One changed value in the settings history (newest first). */
export interface SettingsHistoryEntry {
  event_id: string;
  timestamp: string;
  event_type: 'user_settings_updated';
  /** Dotted path: `theme`, `editor.font_size`, `custom_settings.<key>`. */
  field: string;
  old_value: JsonValue;
  new_value: JsonValue;
  reason: string | null;
  correlation_id: string | null;
}

/** Event-sourced user settings: reads fold the change events, writes append one. */
export interface UserSettingsService {
  get(userId: string): Promise<UserSettings>;
  /** Applies a partial update as one change event; no event when nothing changes. */
  update(userId: string, patch: SettingsPatch, reason?: string): Promise<UserSettings>;
  /** Sets one custom setting; null removes it. */
  setCustom(userId: string, key: string, value: JsonValue): Promise<UserSettings>;
  history(userId: string, limit?: number): Promise<SettingsHistoryEntry[]>;
  /** Brings back the settings in force at `at` (defaults before the first change), stored as a new change. */
  restore(userId: string, at: Date, reason?: string): Promise<UserSettings>;
  /** Removes a user's settings events and snapshot (an admin cascade-delete hook); returns counts by kind. */
  deleteAllFor(userId: string): Promise<Record<string, number>>;
}

/** Builds the user-settings service. Writes of one user are serialized in this process. */
export function createUserSettingsService(deps: UserSettingsServiceDeps): UserSettingsService {
  const { store } = deps;
  const now = () => (deps.clock ?? (() => new Date()))().toISOString();
  const serial = perKeyQueue();

  const load = async (userId: string): Promise<UserSettings> => {
    const snap = await store.snapshot(userId);
    const usable = snap && SettingsValuesSchema.safeParse(pickValues(snap.settings)).success ? snap : null;
    const tail = await store.eventsFor(userId, usable ? { afterEventId: usable.last_event_id } : {});
    return foldSettings(userId, usable?.settings ?? null, tail, now());
  };

  /** Stores the difference between the current settings and `next` as one event. */
  const commit = async (current: UserSettings, next: SettingsValues, reason: string | null): Promise<UserSettings> => {
    const parsed = SettingsValuesSchema.safeParse(next);
    if (!parsed.success) {
      throw errors.validation(parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || 'body', message: i.message })));
    }
    const changes = diffSettings(pickValues(current), next);
    if (changes.length === 0) return current;
    const userId = current.user_id;
    const event = stampEvent('user_settings_updated', settingsAggregateId(userId), { user_id: userId, changes, reason }, { user_id: userId });
    await store.append(event);
    const settings = foldSettings(userId, current, [event], now());
    // The snapshot is a cache: if writing it fails, the next read folds the event from the log instead.
    await store.saveSnapshot({ settings, last_event_id: event.event_id }).catch(() => undefined);
    return settings;
  };

  return {
    get: load,

    update: (userId, patch, reason) =>
      serial(userId, async () => {
        const current = await load(userId);
        return commit(current, mergePatch(pickValues(current), patch), reason ?? null);
      }),

    setCustom: (userId, key, value) =>
      serial(userId, async () => {
        const current = await load(userId);
        return commit(current, withCustom(pickValues(current), key, value), `custom setting ${key}`);
      }),

    async history(userId, limit = 50) {
      const bounded = Math.min(Math.max(1, limit), SETTINGS_LIMITS.historyMax);
      const events = await store.eventsFor(userId, { newestFirst: true, limit: bounded });
      const entries = events.flatMap((e) =>
        e.changes.map((c) => ({
          event_id: e.event_id,
          timestamp: e.timestamp,
          event_type: e.event_type,
          field: c.path.join('.'),
          old_value: c.old_value,
          new_value: c.new_value,
          reason: e.reason,
          correlation_id: e.metadata.correlation_id ?? null,
        })),
      );
      return entries.slice(0, bounded);
    },

    restore: (userId, at, reason) =>
      serial(userId, async () => {
        const until = at.toISOString();
        const past = await store.eventsFor(userId, { until });
        const then = foldSettings(userId, null, past, until);
        const current = await load(userId);
        return commit(current, pickValues(then), reason ?? `restored to ${until}`);
      }),

    deleteAllFor: (userId) => serial(userId, async () => ({ user_settings_events: await store.deleteAllFor(userId) })),
  };
}

/** Runs tasks with the same key one after another; tasks with different keys run freely. */
function perKeyQueue(): <T>(key: string, task: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return (key, task) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
