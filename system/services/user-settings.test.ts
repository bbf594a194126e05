import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { delay } from '../../test/support/wait.js';
import { AppError } from '../domain/errors.js';
import { DEFAULT_SETTINGS } from '../domain/user-settings.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import { SettingsStore } from '../stores/settings-store.js';
import { createUserSettingsService, type UserSettingsService } from './user-settings.js';

let dir: TempDir;
let docs: DocumentStore;
let store: SettingsStore;
let settings: UserSettingsService;
beforeEach(async () => {
  dir = await createTempDir('integr8s-settings-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  store = new SettingsStore(docs);
  settings = createUserSettingsService({ store });
});
afterEach(async () => {
  await docs.close();
  await dir.cleanup();
});

/** A time strictly after everything before the call and strictly before everything after it. */
async function tick(): Promise<string> {
  await delay(5);
  const at = new Date().toISOString();
  await delay(5);
  return at;
}

describe('user settings service (SQLite)', () => {
  it('defaults for a new user; nothing is stored by reading or by a no-op update', async () => {
    expect(await settings.get('u1')).toMatchObject({ user_id: 'u1', ...DEFAULT_SETTINGS, version: 1 });
    await settings.update('u1', { theme: 'auto', editor: { font_size: 14 } });
    expect(await store.countFor('u1')).toBe(0);
  });

  it('every change is an event; the settings are their fold; users are separate', async () => {
    await settings.update('u1', { theme: 'dark', editor: { font_size: 16 } });
    await settings.update('u1', { notifications: { execution_failed: false } });
    await settings.setCustom('u1', 'layout', { panes: 2 });
    const s = await settings.get('u1');
    expect(s).toMatchObject({ theme: 'dark', version: 4, custom_settings: { layout: { panes: 2 } } });
    expect(s.editor).toEqual({ ...DEFAULT_SETTINGS.editor, font_size: 16 });
    expect(s.notifications.execution_failed).toBe(false);
    expect(await store.countFor('u1')).toBe(3);
    expect((await settings.get('u2')).theme).toBe('auto');
  });

  it('history lists every change newest first with old and new values', async () => {
    await settings.update('u1', { theme: 'dark' });
    await settings.update('u1', { theme: 'light', timezone: 'Europe/Berlin' });
    const history = await settings.history('u1');
    expect(history.map((h) => [h.field, h.old_value, h.new_value])).toEqual([
      ['theme', 'dark', 'light'],
      ['timezone', 'UTC', 'Europe/Berlin'],
      ['theme', 'auto', 'dark'],
    ]);
    expect(history[0]).toMatchObject({ event_type: 'user_settings_updated', reason: null });
    expect(await settings.history('u1', 1)).toHaveLength(1);
  });

  it('restore to a time brings back the values then, as a new change', async () => {
    const beforeAll = await tick();
    await settings.update('u1', { theme: 'dark' });
    const between = await tick();
    await settings.update('u1', { theme: 'light', custom_settings: { later: true } });
    const restored = await settings.restore('u1', new Date(between));
    expect(restored.theme).toBe('dark');
    expect(restored.custom_settings).toEqual({});
    expect(restored.version).toBe(4);
    expect((await settings.get('u1')).theme).toBe('dark');
    const history = await settings.history('u1');
    expect(history[0]).toMatchObject({ reason: `restored to ${between}` });
    expect(history.filter((h) => h.field === 'theme').map((h) => h.new_value)).toEqual(['dark', 'light', 'dark']);
    // Before the first change: the defaults.
    expect((await settings.restore('u1', new Date(beforeAll))).theme).toBe('auto');
  });

  it('the snapshot is only a cache: without it (or behind) the events still give the settings', async () => {
    await settings.update('u1', { theme: 'dark' });
    const snap = await store.snapshot('u1');
    expect(snap?.settings.theme).toBe('dark');
    await settings.update('u1', { date_format: 'DD/MM/YYYY' });
    // Put the older snapshot back: the newer event is folded on top of it.
    await store.saveSnapshot(snap!);
    expect(await settings.get('u1')).toMatchObject({ theme: 'dark', date_format: 'DD/MM/YYYY', version: 3 });
    await docs.collection('user_settings_snapshots').delete('u1');
    expect(await createUserSettingsService({ store }).get('u1')).toMatchObject({ theme: 'dark', date_format: 'DD/MM/YYYY', version: 3 });
  });

  it('concurrent updates of one user are serialized: none is lost', async () => {
    await Promise.all(Array.from({ length: 10 }, (_, i) => settings.setCustom('u1', `k${i}`, i)));
    const s = await settings.get('u1');
    expect(Object.keys(s.custom_settings)).toHaveLength(10);
    expect(s.version).toBe(11);
  });

  it('an invalid result is a 422 naming the field; null removes a custom key', async () => {
    const err = await settings.update('u1', { timezone: 'Mars/Olympus' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).extra.fields).toEqual([{ field: 'timezone', message: 'unknown time zone' }]);
    await settings.setCustom('u1', 'k', 1);
    expect((await settings.setCustom('u1', 'k', null)).custom_settings).toEqual({});
  });

  it('deleteAllFor removes the events and the snapshot', async () => {
    await settings.update('u1', { theme: 'dark' });
    await settings.update('u2', { theme: 'dark' });
    expect(await settings.deleteAllFor('u1')).toEqual({ user_settings_events: 1 });
    expect((await settings.get('u1')).theme).toBe('auto');
    expect(await settings.history('u1')).toEqual([]);
    expect((await settings.get('u2')).theme).toBe('dark');
  });
});
