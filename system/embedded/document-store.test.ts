import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import type { Doc, Filter } from '../ports/document-store.js';
import { createSqliteDocumentStore } from './document-store.js';
import { createSqliteEventLog } from './event-log.js';
import { compileFilter, compileOptions } from './sql-filter.js';
import { openDataDir, type SqliteDb } from './sqlite.js';

interface Run extends Doc {
  status: string;
  owner: { name: string };
  score?: number;
}

describe('embedded document store', () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await createTempDir();
  });
  afterEach(async () => {
    await dir.cleanup();
  });

  it('keeps documents across closing and reopening the file', async () => {
    const first = createSqliteDocumentStore(openDataDir(dir.path));
    await first.collection<Run>('runs').insert({ id: 'r1', status: 'queued', owner: { name: 'ann' } });
    await first.collection<Run>('runs').update('r1', { status: 'running' });
    await first.close();
    const second = createSqliteDocumentStore(openDataDir(dir.path));
    expect(await second.collection<Run>('runs').get('r1')).toEqual({ id: 'r1', status: 'running', owner: { name: 'ann' } });
    await second.close();
  });

  it('creates expression indexes that the planner uses', async () => {
    const db = openDataDir(dir.path);
    const store = createSqliteDocumentStore(db);
    const runs = store.collection<Run>('runs', { indexes: ['status', 'owner.name'] });
    for (let i = 0; i < 200; i++) await runs.insert({ id: `r${i}`, status: i % 2 ? 'done' : 'queued', owner: { name: `u${i % 7}` } });
    db.exec('ANALYZE');
    const filters: Filter[] = [{ status: 'done' }, { 'owner.name': { $in: ['u1', 'u2'] } }, { status: { $gte: 'e' } }];
    for (const filter of filters) {
      const where = compileFilter(filter);
      expect(plan(db, `SELECT doc FROM doc_runs WHERE ${where.sql}`, ...where.params)).toMatch(/USING INDEX ix_doc_runs_/);
    }
    expect(await runs.count({ status: 'done', 'owner.name': 'u1' })).toBe(15);
    await store.close();
  });

  it("reads a filtered, sorted page straight from a compound index, and counts a plain string match from the index alone", async () => {
    const db = openDataDir(dir.path);
    const store = createSqliteDocumentStore(db);
    const runs = store.collection<Run>('runs', { indexes: ['owner.name', { 'owner.name': 1, score: -1 }] });
    for (let i = 0; i < 200; i++) await runs.insert({ id: `r${String(i).padStart(3, '0')}`, status: 'done', owner: { name: `u${i % 4}` }, score: i % 10 });
    db.exec('ANALYZE');
    const where = compileFilter({ 'owner.name': 'u1' });
    const tail = compileOptions({ sort: { score: -1 }, limit: 5 });
    const page = plan(db, `SELECT doc FROM doc_runs WHERE ${where.sql} ${tail.sql}`, ...where.params, ...tail.params);
    expect(page).toMatch(/USING INDEX ix_doc_runs_owner\.name,-score/);
    expect(page).not.toMatch(/TEMP B-TREE/);
    expect(plan(db, `SELECT count(*) FROM doc_runs WHERE ${where.sql}`, ...where.params)).toMatch(/USING COVERING INDEX/);
    const top = await runs.find({ 'owner.name': 'u1' }, { sort: { score: -1 }, limit: 5 });
    expect(top.map((r) => [r.score, r.id])).toEqual([[9, 'r009'], [9, 'r029'], [9, 'r049'], [9, 'r069'], [9, 'r089']]);
    await store.close();
  });

  it('binds values, so SQL inside them is only text', async () => {
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    const runs = store.collection<Run>('runs');
    const evil = `x' OR 1=1; DROP TABLE doc_runs; --`;
    await runs.insert({ id: evil, status: evil, owner: { name: '"); DELETE FROM doc_runs; --' } });
    await runs.insert({ id: 'plain', status: 'ok', owner: { name: 'bob' } });
    expect((await runs.find({ status: evil })).map((run) => run.id)).toEqual([evil]);
    expect(await runs.find({ status: { $in: [`' OR '1'='1`] } })).toEqual([]);
    expect(await runs.count()).toBe(2);
    await store.close();
  });

  it('rejects collection names that are not plain identifiers', async () => {
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    for (const name of ['runs; DROP TABLE x', 'a-b', '', '9lives', 'a"b']) expect(() => store.collection(name)).toThrow();
    await store.close();
  });

  it('rejects every call after close', async () => {
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    const runs = store.collection<Run>('runs');
    await store.close();
    await store.close();
    await expect(runs.get('x')).rejects.toThrow(/closed/);
    await expect(store.ping()).rejects.toThrow(/closed/);
  });

  it('shares one connection with the event log and closes it with the last user', async () => {
    const db = openDataDir(dir.path);
    const store = createSqliteDocumentStore(db);
    const log = createSqliteEventLog(db, { partitions: 2 });
    await store.close();
    expect(db.open).toBe(true);
    await log.append('t', 'k', 'still works');
    await log.close();
    expect(db.open).toBe(false);
  });

  it('stores numbers without losing precision or type', async () => {
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    const nums = store.collection<Doc & { v: number }>('nums');
    const values = [0, -0.5, 1e-7, 1.7976931348623157e308, -Number.MAX_SAFE_INTEGER, 3, 3.0000000000000004];
    for (const [i, v] of values.entries()) await nums.insert({ id: `n${i}`, v });
    for (const [i, v] of values.entries()) expect((await nums.get(`n${i}`))?.v).toBe(v);
    expect((await nums.find({ v: 3 })).map((doc) => doc.id)).toEqual(['n5']);
    await store.close();
  });
});

function plan(db: SqliteDb, sql: string, ...params: unknown[]): string {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
  return rows.map((row) => row.detail).join('\n');
}
