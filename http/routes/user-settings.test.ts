import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { openDatabase } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import { createUserSettingsService } from '../../system/services/user-settings.js';
import { SettingsStore } from '../../system/stores/settings-store.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { delay } from '../../test/support/wait.js';
import { testCallerResolver, testUser } from '../test-caller.js';
import { startHarness, type Harness } from '../test-support.js';
import { userSettingsRoutes } from './user-settings.js';

let dir: TempDir;
let docs: DocumentStore;
let h: Harness;
beforeEach(async () => {
  dir = await createTempDir('integr8s-settings-routes-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  const settings = createUserSettingsService({ store: new SettingsStore(docs) });
  h = await startHarness({ routes: [userSettingsRoutes({ settings })], resolveCaller: testCallerResolver() });
});
afterEach(async () => {
  await h.server.close();
  await docs.close();
  await dir.cleanup();
});

const BASE = '/api/v1/user/settings';
type Settings = Record<string, unknown> & { theme: string; version: number; editor: Record<string, unknown>; custom_settings: Record<string, unknown> };
type History = { history: Array<{ field: string; old_value: unknown; new_value: unknown; timestamp: string; reason: string | null }>; total: number };
const call = (method: string, path: string, user: string | null, body?: unknown) =>
  fetch(`${h.base}${BASE}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(user ? testUser(user) : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const ok = async <T = Settings>(res: Promise<Response>): Promise<T> => {
  const r = await res;
  expect(r.status).toBe(200);
  return (await r.json()) as T;
};
const fields = async (res: Promise<Response>) => {
  const r = await res;
  expect(r.status).toBe(422);
  return ((await r.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field).sort();
};

describe('user settings API', () => {
  it('401 without a session', async () => {
    expect((await call('GET', '/', null)).status).toBe(401);
    expect((await call('PUT', '/theme', null, { theme: 'dark' })).status).toBe(401);
    expect((await call('GET', '/history', null)).status).toBe(401);
    expect((await call('POST', '/restore', null, { timestamp: new Date().toISOString() })).status).toBe(401);
  });

  it('GET gives the defaults with every Integr8sCode field', async () => {
    const s = await ok(call('GET', '/', 'alice'));
    expect(s).toMatchObject({
      user_id: 'alice',
      theme: 'auto',
      timezone: 'UTC',
      date_format: 'YYYY-MM-DD',
      time_format: '24h',
      notifications: { execution_completed: true, execution_failed: true, system_updates: true, security_alerts: true, channels: ['in_app'] },
      editor: { theme: 'auto', font_size: 14, tab_size: 4, use_tabs: false, word_wrap: true, show_line_numbers: true },
      custom_settings: {},
      version: 1,
    });
    expect(typeof s['created_at']).toBe('string');
    expect(typeof s['updated_at']).toBe('string');
  });

  it('PUT partial, /theme, /notifications, /editor, /custom/{key}; users are separate', async () => {
    expect(await ok(call('PUT', '/', 'alice', { timezone: 'Europe/Berlin', editor: { font_size: 18 } }))).toMatchObject({ timezone: 'Europe/Berlin', version: 2 });
    expect((await ok(call('PUT', '/theme', 'alice', { theme: 'dark' }))).theme).toBe('dark');
    expect(await ok(call('PUT', '/notifications', 'alice', { execution_completed: false, channels: ['in_app', 'webhook'] }))).toMatchObject({
      notifications: { execution_completed: false, execution_failed: true, channels: ['in_app', 'webhook'] },
    });
    const editor = await ok(call('PUT', '/editor', 'alice', { tab_size: 2, use_tabs: true }));
    expect(editor.editor).toMatchObject({ font_size: 18, tab_size: 2, use_tabs: true });
    const custom = await ok(call('PUT', '/custom/layout', 'alice', { panes: 2, sidebar: 'left' }));
    expect(custom.custom_settings).toEqual({ layout: { panes: 2, sidebar: 'left' } });
    expect(custom.version).toBe(6);
    expect((await ok(call('PUT', '/custom/layout', 'alice', null))).custom_settings).toEqual({});
    expect((await ok(call('GET', '/', 'bob'))).theme).toBe('auto');
  });

  it('422 naming the field', async () => {
    expect(await fields(call('PUT', '/', 'alice', { theme: 'neon', timezone: 'Mars/Base', editor: { font_size: 99 } }))).toEqual(['editor.font_size', 'theme', 'timezone']);
    expect(await fields(call('PUT', '/theme', 'alice', {}))).toEqual(['theme']);
    expect(await fields(call('PUT', '/editor', 'alice', { tab_size: 3 }))).toEqual(['tab_size']);
    expect(await fields(call('PUT', '/notifications', 'alice', { channels: ['pigeon'] }))).toEqual(['channels.0']);
    expect(await fields(call('PUT', '/custom/__proto__', 'alice', { a: 1 }))).toEqual(['key']);
    expect(await fields(call('POST', '/restore', 'alice', { timestamp: 'yesterday' }))).toEqual(['timestamp']);
    expect(await fields(call('GET', '/history?limit=0', 'alice'))).toEqual(['limit']);
  });

  it('history lists every change; restore to a time between two theme changes brings the first back', async () => {
    await ok(call('PUT', '/theme', 'alice', { theme: 'dark' }));
    await delay(10);
    const between = new Date().toISOString();
    await delay(10);
    await ok(call('PUT', '/theme', 'alice', { theme: 'light' }));
    const before = await ok<History>(call('GET', '/history', 'alice'));
    expect(before.total).toBe(2);
    expect(before.history.map((e) => [e.field, e.old_value, e.new_value])).toEqual([
      ['theme', 'dark', 'light'],
      ['theme', 'auto', 'dark'],
    ]);

    const restored = await ok(call('POST', '/restore', 'alice', { timestamp: between }));
    expect(restored).toMatchObject({ theme: 'dark', version: 4 });
    expect((await ok(call('GET', '/', 'alice'))).theme).toBe('dark');

    const after = await ok<History>(call('GET', '/history', 'alice'));
    expect(after.history.map((e) => e.new_value)).toEqual(['dark', 'light', 'dark']);
    expect(after.history[0]?.reason).toBe(`restored to ${between}`);
    expect(after.history.every((e) => !Number.isNaN(Date.parse(e.timestamp)))).toBe(true);
    expect((await ok<History>(call('GET', '/history?limit=1', 'alice'))).total).toBe(1);
    expect((await ok<History>(call('GET', '/history', 'bob'))).total).toBe(0);

    // A timestamp without an offset is UTC; one before any change restores the defaults.
    expect((await ok(call('POST', '/restore', 'alice', { timestamp: '2001-01-01T00:00:00' }))).theme).toBe('auto');
  });
});
