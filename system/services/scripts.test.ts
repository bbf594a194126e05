import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { AppError } from '../domain/errors.js';
import type { RuntimeCatalogue, RuntimeInfo } from '../domain/runtimes.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDatabase } from '../embedded/sqlite.js';
import type { DocumentStore } from '../ports/document-store.js';
import { ScriptStore } from '../stores/script-store.js';
import { createScriptService, type ScriptService } from './scripts.js';

const RUNTIMES: RuntimeInfo[] = [
  { lang: 'python', versions: ['3.11', '3.12'], fileExt: 'py' },
  { lang: 'bash', versions: ['5.2'], fileExt: 'sh' },
];
const runtimes: RuntimeCatalogue = { list: () => RUNTIMES, find: (lang) => RUNTIMES.find((r) => r.lang === lang) };

let dir: TempDir;
let docs: DocumentStore;
let scripts: ScriptService;
beforeEach(async () => {
  dir = await createTempDir('integr8s-scripts-');
  docs = createSqliteDocumentStore(openDatabase(join(dir.path, 'test.db')));
  scripts = createScriptService({ scripts: new ScriptStore(docs), runtimes });
});
afterEach(async () => {
  await docs.close();
  await dir.cleanup();
});

const draft = { name: 'hello', script: 'print(1)', lang: 'python', lang_version: '3.11' };
const fieldsOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as AppError).extra.fields?.map((f) => f.field);

describe('saved scripts service (SQLite)', () => {
  it('create, list newest change first, get, update, delete; owner only', async () => {
    const a = await scripts.create('u1', draft);
    expect(a).toMatchObject({ ...draft, user_id: 'u1', description: null });
    const b = await scripts.create('u1', { ...draft, name: 'second', description: 'd' });
    await scripts.create('u2', draft);
    await new Promise((r) => setTimeout(r, 5));
    const changed = await scripts.update('u1', a.script_id, { lang_version: '3.12', description: 'now described' });
    expect(changed).toMatchObject({ name: 'hello', lang_version: '3.12', description: 'now described', created_at: a.created_at });
    expect(changed.updated_at > a.updated_at).toBe(true);
    expect((await scripts.list('u1')).map((s) => s.name)).toEqual(['hello', 'second']);
    expect(await scripts.get('u1', b.script_id)).toEqual(b);

    await expect(scripts.get('u2', a.script_id)).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(scripts.update('u2', a.script_id, { name: 'x' })).rejects.toMatchObject({ kind: 'NotFound' });
    await expect(scripts.remove('u2', a.script_id)).rejects.toMatchObject({ kind: 'NotFound' });
    await scripts.remove('u1', a.script_id);
    await expect(scripts.get('u1', a.script_id)).rejects.toBeInstanceOf(AppError);
  });

  it('lang and lang_version are checked against the runtimes, naming the field', async () => {
    expect(await fieldsOf(scripts.create('u1', { ...draft, lang: 'cobol' }))).toEqual(['lang']);
    expect(await fieldsOf(scripts.create('u1', { ...draft, lang_version: '2.7' }))).toEqual(['lang_version']);
    const s = await scripts.create('u1', draft);
    expect(await fieldsOf(scripts.update('u1', s.script_id, { lang: 'bash' }))).toEqual(['lang_version']);
    expect(await scripts.update('u1', s.script_id, { lang: 'bash', lang_version: '5.2' })).toMatchObject({ lang: 'bash' });
  });

  it('deleteAllFor removes only that user\'s scripts', async () => {
    await scripts.create('u1', draft);
    await scripts.create('u1', draft);
    await scripts.create('u2', draft);
    expect(await scripts.deleteAllFor('u1')).toEqual({ saved_scripts: 2 });
    expect(await scripts.list('u1')).toEqual([]);
    expect(await scripts.list('u2')).toHaveLength(1);
  });
});
