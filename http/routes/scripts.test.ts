import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RuntimeCatalogue, RuntimeInfo } from '../../system/domain/runtimes.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { openDatabase } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import { createScriptService } from '../../system/services/scripts.js';
import { ScriptStore } from '../../system/stores/script-store.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { testCallerResolver, testUser } from '../test-caller.js';
import { startHarness, type Harness } from '../test-support.js';
import { scriptRoutes } from './scripts.js';

const RUNTIMES: RuntimeInfo[] = [{ lang: 'python', versions: ['3.11'], fileExt: 'py' }];
const runtimes: RuntimeCatalogue = { list: () => RUNTIMES, find: (lang) => RUNTIMES.find((r) => r.lang === lang) };

let dir: TempDir;
let docs: DocumentStore;
let h: Harness;
beforeEach(async () => {
  dir = await createTempDir('integr8s-script-routes-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  const scripts = createScriptService({ scripts: new ScriptStore(docs), runtimes });
  h = await startHarness({ routes: [scriptRoutes({ scripts })], resolveCaller: testCallerResolver() });
});
afterEach(async () => {
  await h.server.close();
  await docs.close();
  await dir.cleanup();
});

const URL_ = '/api/v1/scripts';
type View = { script_id: string; name: string; script: string; lang: string; lang_version: string; description: string | null; created_at: string; updated_at: string };
const call = (method: string, path: string, user: string | null, body?: unknown) =>
  fetch(`${h.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(user ? testUser(user) : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const fields = async (res: Response) => ((await res.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field).sort();
const draft = { name: 'hello', script: 'print("hi")', lang: 'python', lang_version: '3.11' };

describe('saved scripts API', () => {
  it('401 without a session on every route', async () => {
    for (const [method, path] of [['POST', URL_], ['GET', URL_], ['GET', `${URL_}/x`], ['PUT', `${URL_}/x`], ['DELETE', `${URL_}/x`]] as const) {
      const res = await call(method, path, null, method === 'POST' || method === 'PUT' ? draft : undefined);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(await res.json()).toEqual({ detail: 'Not authenticated', type: 'Unauthenticated' });
    }
  });

  it('create → get → list → update → delete (204), with the Integr8sCode fields', async () => {
    const created = await call('POST', URL_, 'alice', { ...draft, description: 'greets' });
    expect(created.status).toBe(200);
    const view = (await created.json()) as View;
    expect(Object.keys(view).sort()).toEqual(['created_at', 'description', 'lang', 'lang_version', 'name', 'script', 'script_id', 'updated_at']);
    expect(view).toMatchObject({ ...draft, description: 'greets' });

    expect(await (await call('GET', `${URL_}/${view.script_id}`, 'alice')).json()).toEqual(view);
    expect(await (await call('GET', URL_, 'alice')).json()).toEqual({ scripts: [view] });
    expect(await (await call('GET', URL_, 'bob')).json()).toEqual({ scripts: [] });

    const updated = await call('PUT', `${URL_}/${view.script_id}`, 'alice', { name: 'renamed', description: null });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toMatchObject({ script_id: view.script_id, name: 'renamed', script: draft.script, description: null });

    const deleted = await call('DELETE', `${URL_}/${view.script_id}`, 'alice');
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await call('GET', `${URL_}/${view.script_id}`, 'alice')).status).toBe(404);
  });

  it("404 for another user's script on read, update and delete; it stays intact", async () => {
    const view = (await (await call('POST', URL_, 'alice', draft)).json()) as View;
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await call(method, `${URL_}/${view.script_id}`, 'mallory', method === 'PUT' ? { name: 'pwned' } : undefined);
      expect(res.status, method).toBe(404);
      expect(await res.json()).toEqual({ detail: 'Script not found', type: 'NotFound' });
    }
    expect(await (await call('GET', `${URL_}/${view.script_id}`, 'alice')).json()).toEqual(view);
  });

  it('422 naming the fields: missing, too long, unknown runtime', async () => {
    expect(await fields(await call('POST', URL_, 'alice', {}))).toEqual(['lang', 'lang_version', 'name', 'script']);
    expect(await fields(await call('POST', URL_, 'alice', { ...draft, script: 'x'.repeat(50_001) }))).toEqual(['script']);
    expect((await call('POST', URL_, 'alice', { ...draft, script: 'x'.repeat(50_000) })).status).toBe(200);
    expect(await fields(await call('POST', URL_, 'alice', { ...draft, lang: 'cobol' }))).toEqual(['lang']);
    expect(await fields(await call('POST', URL_, 'alice', { ...draft, lang_version: '2.7' }))).toEqual(['lang_version']);
    const view = (await (await call('POST', URL_, 'alice', draft)).json()) as View;
    expect(await fields(await call('PUT', `${URL_}/${view.script_id}`, 'alice', { name: '', lang_version: '9' }))).toEqual(['name']);
    expect(await fields(await call('PUT', `${URL_}/${view.script_id}`, 'alice', { lang_version: '9' }))).toEqual(['lang_version']);
  });
});
