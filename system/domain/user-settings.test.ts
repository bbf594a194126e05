import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stampEvent } from './events.js';
import {
  applyChanges,
  DEFAULT_SETTINGS,
  diffSettings,
  foldSettings,
  mergePatch,
  sameJson,
  settingsAggregateId,
  SettingsValuesSchema,
  withCustom,
  type JsonValue,
  type SettingChange,
  type SettingsValues,
} from './user-settings.js';

const jsonLeaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean());
const customValue: fc.Arbitrary<JsonValue> = fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 4 }), jsonLeaf, { maxKeys: 3 }));
const customKey = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k));

const settingsArb: fc.Arbitrary<SettingsValues> = fc.record({
  theme: fc.constantFrom('auto', 'light', 'dark'),
  timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'),
  date_format: fc.constantFrom('YYYY-MM-DD', 'DD/MM/YYYY'),
  time_format: fc.constantFrom('24h', '12h'),
  notifications: fc.record({
    execution_completed: fc.boolean(),
    execution_failed: fc.boolean(),
    system_updates: fc.boolean(),
    security_alerts: fc.boolean(),
    channels: fc.subarray(['in_app', 'webhook', 'slack'] as const),
  }),
  editor: fc.record({
    theme: fc.constantFrom('auto', 'one-dark', 'github'),
    font_size: fc.integer({ min: 8, max: 32 }),
    tab_size: fc.constantFrom(2 as const, 4 as const, 8 as const),
    use_tabs: fc.boolean(),
    word_wrap: fc.boolean(),
    show_line_numbers: fc.boolean(),
  }),
  custom_settings: fc.dictionary(customKey, customValue, { maxKeys: 4 }),
});

const event = (userId: string, changes: SettingChange[]) =>
  stampEvent('user_settings_updated', settingsAggregateId(userId), { user_id: userId, changes, reason: null }, { user_id: userId });

describe('user settings as a fold of changes', () => {
  it('applying diff(a, b) to a gives b, and diff(a, a) is empty', () => {
    fc.assert(
      fc.property(settingsArb, settingsArb, (a, b) => {
        expect(SettingsValuesSchema.safeParse(a).success).toBe(true);
        const changes = diffSettings(a, b);
        expect(sameJson(applyChanges(a, changes) as unknown as JsonValue, b as unknown as JsonValue)).toBe(true);
        expect(diffSettings(a, a)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('diff names leaves: editor.font_size, custom keys (null = removed)', () => {
    const a = withCustom(DEFAULT_SETTINGS, 'gone', 1);
    const b = withCustom(mergePatch(DEFAULT_SETTINGS, { editor: { font_size: 18 }, theme: 'dark' }), 'new', { x: [1] });
    expect(diffSettings(a, b)).toEqual([
      { path: ['theme'], old_value: 'auto', new_value: 'dark' },
      { path: ['editor', 'font_size'], old_value: 14, new_value: 18 },
      { path: ['custom_settings', 'gone'], old_value: 1, new_value: null },
      { path: ['custom_settings', 'new'], old_value: null, new_value: { x: [1] } },
    ]);
  });

  it('mergePatch merges groups field by field and replaces custom_settings, dropping nulls', () => {
    const start = withCustom(DEFAULT_SETTINGS, 'keep', 1);
    const next = mergePatch(start, { notifications: { execution_failed: false }, custom_settings: { a: 1, b: null } });
    expect(next.notifications).toEqual({ ...DEFAULT_SETTINGS.notifications, execution_failed: false });
    expect(next.custom_settings).toEqual({ a: 1 });
    expect(start.custom_settings).toEqual({ keep: 1 });
  });

  it('skips a stored change that would make the settings invalid, keeping the rest', () => {
    const next = applyChanges(DEFAULT_SETTINGS, [
      { path: ['editor', 'font_size'], old_value: 14, new_value: 99 },
      { path: ['theme'], old_value: 'auto', new_value: 'dark' },
      { path: ['no_such_field'], old_value: null, new_value: 1 },
    ]);
    expect(next.editor.font_size).toBe(14);
    expect(next.theme).toBe('dark');
  });

  it('a custom key named __proto__ is data, not a prototype', () => {
    const next = applyChanges(DEFAULT_SETTINGS, [{ path: ['custom_settings', '__proto__'], old_value: null, new_value: { polluted: true } }]);
    expect(Object.getPrototypeOf(next.custom_settings)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('fold: version counts events; created_at is the first event, updated_at the last', () => {
    const e1 = event('u', [{ path: ['theme'], old_value: 'auto', new_value: 'dark' }]);
    const e2 = event('u', [{ path: ['theme'], old_value: 'dark', new_value: 'light' }]);
    const folded = foldSettings('u', null, [e1, e2], 'now');
    expect(folded).toMatchObject({ user_id: 'u', theme: 'light', version: 3, created_at: e1.timestamp, updated_at: e2.timestamp });
    const fresh = foldSettings('u', null, [], '2024-01-01T00:00:00.000Z');
    expect(fresh).toMatchObject({ ...DEFAULT_SETTINGS, version: 1, created_at: '2024-01-01T00:00:00.000Z' });
    expect(foldSettings('u', folded, [event('u', [{ path: ['timezone'], old_value: 'UTC', new_value: 'Asia/Tokyo' }])], 'now')).toMatchObject({
      theme: 'light',
      timezone: 'Asia/Tokyo',
      version: 4,
      created_at: e1.timestamp,
    });
  });
});
