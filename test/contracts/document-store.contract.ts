/**
 * The DocumentStore contract: every adapter (embedded SQLite, MongoDB) must pass it unchanged.
 * Collections get fresh random names, so a shared server needs no wiping between tests.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateKeyError, InvalidQueryError, type Collection, type Doc, type DocumentStore } from '../../system/ports/document-store.js';

/** A store to test and how to dispose of it. */
export interface DocumentStoreFixture {
  store: DocumentStore;
  cleanup(): Promise<void>;
}

interface Item extends Doc {
  name?: string | null;
  n?: number | null;
  ok?: boolean;
  tags?: string[];
  meta?: { owner?: string; level?: number; deep?: { x: number } };
  [extra: string]: unknown;
}

const ITEMS: Item[] = [
  { id: 'a', name: 'alpha', n: 1, ok: true, meta: { owner: 'ann', level: 3 } },
  { id: 'b', name: 'beta', n: 2, ok: false, meta: { owner: 'bob', level: 1 } },
  { id: 'c', name: 'gamma', n: 3, ok: true, meta: { owner: 'ann', level: 2 } },
  { id: 'd', name: null, n: 10, ok: true },
  { id: 'e', n: 2.5, ok: false },
  { id: 'f', name: '1', n: null },
];

/** Registers the DocumentStore contract tests for one adapter. */
export function documentStoreContract(name: string, make: () => Promise<DocumentStoreFixture>): void {
  describe(`DocumentStore contract: ${name}`, () => {
    let fixture: DocumentStoreFixture;
    let items: Collection<Item>;
    let itemsName: string;
    const ids = (docs: Doc[]): string[] => docs.map((doc) => doc.id);
    const freshName = (): string => `c_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

    beforeEach(async () => {
      fixture = await make();
      itemsName = freshName();
      items = fixture.store.collection<Item>(itemsName, { indexes: ['name', 'n', 'meta.owner'] });
      for (const item of ITEMS) await items.insert(item);
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('answers ping', async () => {
      await expect(fixture.store.ping()).resolves.toBeUndefined();
    });

    it('round-trips values exactly', async () => {
      const doc = {
        id: 'exact',
        int: 42,
        negative: -7,
        float: 0.1 + 0.2,
        big: Number.MAX_SAFE_INTEGER,
        tiny: 5e-324,
        yes: true,
        no: false,
        nothing: null,
        text: 'héllo wörld — 你好 🚀 e\u0301 "quoted" \\ back\nline\ttab',
        empty: '',
        list: [1, 'two', false, null, { three: [3] }],
        nested: { a: { b: { c: 'deep' } }, emptyObject: {}, emptyList: [] },
      };
      const col = fixture.store.collection<typeof doc>(freshName());
      await col.insert(doc);
      expect(await col.get('exact')).toStrictEqual(doc);
      expect(await col.find({ text: doc.text })).toStrictEqual([doc]);
    });

    it('returns null for a missing id and keeps collections apart', async () => {
      expect(await items.get('zzz')).toBeNull();
      const other = fixture.store.collection<Item>(freshName());
      expect(await other.get('a')).toBeNull();
      expect(await other.count()).toBe(0);
    });

    it('rejects a duplicate insert with DuplicateKeyError and keeps the original', async () => {
      const error = await items.insert({ id: 'a', name: 'impostor' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DuplicateKeyError);
      expect((error as DuplicateKeyError).id).toBe('a');
      expect((await items.get('a'))?.name).toBe('alpha');
    });

    it('put inserts when absent and replaces the whole document', async () => {
      await items.put({ id: 'new', name: 'fresh' });
      expect(await items.get('new')).toStrictEqual({ id: 'new', name: 'fresh' });
      await items.put({ id: 'a', n: 99 });
      expect(await items.get('a')).toStrictEqual({ id: 'a', n: 99 });
    });

    it('update sets top-level fields, replacing nested values whole', async () => {
      const updated = await items.update('a', { n: 5, meta: { owner: 'zed' } });
      const expected = { id: 'a', name: 'alpha', n: 5, ok: true, meta: { owner: 'zed' } };
      expect(updated).toStrictEqual(expected);
      expect(await items.get('a')).toStrictEqual(expected);
      expect(await items.update('missing', { n: 1 })).toBeNull();
      expect(await items.get('missing')).toBeNull();
    });

    it('applies concurrent updates to different fields without losing any', async () => {
      const fields = Array.from({ length: 40 }, (_, i) => `f${i}`);
      await Promise.all(fields.map((field, i) => items.update('b', { [field]: i })));
      const doc = await items.get('b');
      fields.forEach((field, i) => expect(doc?.[field]).toBe(i));
      expect(doc?.name).toBe('beta');
    });

    it('increments a number field atomically, counting a missing or null field as 0', async () => {
      await Promise.all(Array.from({ length: 30 }, () => items.increment('a', 'n', 1)));
      expect((await items.get('a'))?.n).toBe(31);
      expect(await items.increment('b', 'n', -2.5)).toStrictEqual({ ...ITEMS[1], n: -0.5 });
      expect((await items.increment('d', 'hits', 2))?.hits).toBe(2);
      expect((await items.increment('f', 'n', 4))?.n).toBe(4);
      expect(await items.increment('missing', 'n', 1)).toBeNull();
      expect(await items.get('missing')).toBeNull();
    });

    it('refuses to increment a field that holds something else than a number, or a nested or invalid field', async () => {
      await expect(items.increment('a', 'name', 1)).rejects.toThrow(InvalidQueryError);
      await expect(items.increment('a', 'meta.level', 1)).rejects.toThrow(InvalidQueryError);
      await expect(items.increment('a', '$bad', 1)).rejects.toThrow(InvalidQueryError);
      await expect(items.increment('a', 'n', Number.NaN)).rejects.toThrow(InvalidQueryError);
      expect(await items.get('a')).toStrictEqual(ITEMS[0]);
    });

    it('delete reports whether a document was removed', async () => {
      expect(await items.delete('a')).toBe(true);
      expect(await items.delete('a')).toBe(false);
      expect(await items.get('a')).toBeNull();
    });

    it('matches equality by value and JSON type, on top-level and dotted fields', async () => {
      expect(ids(await items.find({ name: 'beta' }))).toEqual(['b']);
      expect(ids(await items.find({ n: 2 }))).toEqual(['b']);
      expect(ids(await items.find({ n: 2.5 }))).toEqual(['e']);
      expect(ids(await items.find({ ok: true }))).toEqual(['a', 'c', 'd']);
      expect(ids(await items.find({ name: '1' }))).toEqual(['f']);
      expect(ids(await items.find({ n: 1 }))).toEqual(['a']);
      expect(ids(await items.find({ 'meta.owner': 'ann' }))).toEqual(['a', 'c']);
      expect(ids(await items.find({ id: 'c' }))).toEqual(['c']);
      expect(ids(await items.find({ 'meta.owner': 'ann', 'meta.level': 2 }))).toEqual(['c']);
    });

    it('never matches a string against an object or array whose JSON text it equals, indexed or not', async () => {
      const col = fixture.store.collection<Doc & { tag: unknown }>(freshName(), { indexes: ['tag'] });
      const docs = [
        { id: 'obj', tag: { x: 1 } },
        { id: 'objText', tag: '{"x":1}' },
        { id: 'arr', tag: [1, 2] },
        { id: 'arrText', tag: '[1,2]' },
        { id: 'num', tag: 7 },
        { id: 'numText', tag: '7' },
        { id: 'yes', tag: true },
        { id: 'yesText', tag: 'true' },
      ];
      for (const doc of docs) await col.insert(doc);
      for (const [value, expected] of [['{"x":1}', ['objText']], ['[1,2]', ['arrText']], ['7', ['numText']], ['true', ['yesText']], ['1', []]] as const) {
        expect(ids(await col.find({ tag: value })), value).toEqual(expected);
        expect(await col.count({ tag: value }), value).toBe(expected.length);
      }
      expect(ids(await col.find({ tag: { $in: ['{"x":1}', '7'] } }, { sort: { id: 1 } }))).toEqual(['numText', 'objText']);
      expect(ids(await col.find({ tag: { $ne: '[1,2]' } }, { sort: { id: 1 } }))).toEqual(['arr', 'num', 'numText', 'obj', 'objText', 'yes', 'yesText']);
    });

    it('answers the same through a compound index, and refuses one that cannot be made', async () => {
      const col = fixture.store.collection<Doc & { owner: string; at: number }>(freshName(), { indexes: [{ owner: 1, at: -1 }, 'owner'] });
      for (let i = 0; i < 30; i++) await col.insert({ id: `d${String(i).padStart(2, '0')}`, owner: `o${i % 3}`, at: i % 4 });
      const page = await col.find({ owner: 'o1' }, { sort: { at: -1 }, limit: 4, skip: 1 });
      expect(page.map((d) => [d.at, d.id])).toEqual([[3, 'd19'], [2, 'd10'], [2, 'd22'], [1, 'd01']]);
      expect(await col.count({ owner: 'o1' })).toBe(10);
      for (const bad of [{ owner: 1 }, { owner: 1, id: 1 }, { owner: 1, at: 2 }] as never[]) {
        expect(() => fixture.store.collection(freshName(), { indexes: [bad] }), JSON.stringify(bad)).toThrow(InvalidQueryError);
      }
    });

    it('treats equality with null as "missing or null"', async () => {
      expect(ids(await items.find({ name: null }))).toEqual(['d', 'e']);
      expect(ids(await items.find({ n: null }))).toEqual(['f']);
      expect(ids(await items.find({ 'meta.owner': null }))).toEqual(['d', 'e', 'f']);
    });

    it('supports $in, $nin and $ne with MongoDB semantics for missing fields', async () => {
      expect(ids(await items.find({ name: { $in: ['alpha', 'gamma', 'nope'] } }))).toEqual(['a', 'c']);
      expect(ids(await items.find({ name: { $in: [null, 'beta'] } }))).toEqual(['b', 'd', 'e']);
      expect(ids(await items.find({ name: { $in: [] } }))).toEqual([]);
      expect(ids(await items.find({ name: { $nin: ['alpha', 'beta'] } }))).toEqual(['c', 'd', 'e', 'f']);
      expect(ids(await items.find({ 'meta.owner': { $ne: 'ann' } }))).toEqual(['b', 'd', 'e', 'f']);
      expect(ids(await items.find({ name: { $ne: null } }))).toEqual(['a', 'b', 'c', 'f']);
      expect(ids(await items.find({ ok: { $ne: true } }))).toEqual(['b', 'e', 'f']);
    });

    it('compares ranges only within the same type', async () => {
      expect(ids(await items.find({ n: { $gt: 2 } }))).toEqual(['c', 'd', 'e']);
      expect(ids(await items.find({ n: { $gte: 2, $lt: 10 } }))).toEqual(['b', 'c', 'e']);
      expect(ids(await items.find({ n: { $lte: 1 } }))).toEqual(['a']);
      expect(ids(await items.find({ name: { $gte: 'b', $lt: 'h' } }))).toEqual(['b', 'c']);
      expect(ids(await items.find({ name: { $gt: '' } }))).toEqual(['a', 'b', 'c', 'f']);
      expect(ids(await items.find({ n: { $gt: 1 }, ok: true }))).toEqual(['c', 'd']);
    });

    it('sorts, skips and limits', async () => {
      expect(ids(await items.find({}, { sort: { n: 1 } }))).toEqual(['f', 'a', 'b', 'e', 'c', 'd']);
      expect(ids(await items.find({}, { sort: { n: -1 } }))).toEqual(['d', 'c', 'e', 'b', 'a', 'f']);
      expect(ids(await items.find({ ok: true }, { sort: { 'meta.level': -1 } }))).toEqual(['a', 'c', 'd']);
      expect(ids(await items.find({}, { sort: { ok: 1, n: -1 } }))).toEqual(['f', 'e', 'b', 'd', 'c', 'a']);
      expect(ids(await items.find({}, { sort: { n: 1 }, limit: 2 }))).toEqual(['f', 'a']);
      expect(ids(await items.find({}, { sort: { n: 1 }, skip: 4 }))).toEqual(['c', 'd']);
      expect(ids(await items.find({}, { sort: { n: 1 }, skip: 1, limit: 3 }))).toEqual(['a', 'b', 'e']);
      expect(ids(await items.find({}, { sort: { id: -1 }, limit: 1 }))).toEqual(['f']);
    });

    it('counts with and without a filter', async () => {
      expect(await items.count()).toBe(6);
      expect(await items.count({ ok: true })).toBe(3);
      expect(await items.count({ n: { $gte: 2 } })).toBe(4);
      expect(await items.count({ name: 'nobody' })).toBe(0);
    });

    it('hands out the same data for the same name, whatever the index options', async () => {
      const again = fixture.store.collection<Item>(itemsName, { indexes: ['ok'] });
      expect(await again.count({ ok: true })).toBe(3);
    });

    it('hides documents past their TTL at once, for every operation, and lets their ids be reused', async () => {
      interface Session extends Doc {
        created_at?: string | number;
        k: number;
      }
      const now = Date.now();
      const hoursAgo = (hours: number): string => new Date(now - hours * 3_600_000).toISOString();
      const name = freshName();
      const col = fixture.store.collection<Session>(name, { ttl: { field: 'created_at', seconds: 3600 }, indexes: ['k'] });
      await col.insert({ id: 'old', created_at: hoursAgo(2), k: 1 });
      await col.insert({ id: 'old_ms', created_at: now - 2 * 3_600_000, k: 1 });
      await col.insert({ id: 'fresh', created_at: hoursAgo(0.5), k: 1 });
      await col.insert({ id: 'timeless', k: 1 });
      await col.insert({ id: 'unreadable', created_at: 'not a time', k: 1 });

      expect(await col.get('old')).toBeNull();
      expect(await col.get('old_ms')).toBeNull();
      expect(await col.get('fresh')).toStrictEqual({ id: 'fresh', created_at: hoursAgo(0.5), k: 1 });
      expect(ids(await col.find())).toEqual(['fresh', 'timeless', 'unreadable']);
      expect(ids(await col.find({ k: 1 }, { sort: { id: -1 } }))).toEqual(['unreadable', 'timeless', 'fresh']);
      expect(ids(await col.find({ id: { $in: ['old', 'fresh'] } }))).toEqual(['fresh']);
      expect(await col.count()).toBe(3);
      expect(await col.count({ k: 1 })).toBe(3);
      expect(await col.update('old', { k: 2 })).toBeNull();
      expect(await col.delete('old_ms')).toBe(false);

      // An expired id is free again; a live one is not.
      await col.insert({ id: 'old', created_at: hoursAgo(0), k: 3 });
      expect(await col.get('old')).toStrictEqual({ id: 'old', created_at: hoursAgo(0), k: 3 });
      await expect(col.insert({ id: 'fresh', k: 9 })).rejects.toBeInstanceOf(DuplicateKeyError);
      await col.put({ id: 'old_ms', created_at: now, k: 4 });
      expect(await col.get('old_ms')).toStrictEqual({ id: 'old_ms', created_at: now, k: 4 });

      // Moving the time a document counts from moves its expiry.
      expect((await col.update('fresh', { created_at: hoursAgo(3) }))?.created_at).toBe(hoursAgo(3));
      expect(await col.get('fresh')).toBeNull();
      expect((await col.update('timeless', { created_at: hoursAgo(1.5) }))?.k).toBe(1);
      expect(await col.get('timeless')).toBeNull();
      expect(ids(await col.find())).toEqual(['old', 'old_ms', 'unreadable']);

      // The TTL belongs to the collection: a handle without one sees the same, a different one is refused.
      expect(await fixture.store.collection<Session>(name).count()).toBe(3);
      expect(() => fixture.store.collection<Session>(name, { ttl: { field: 'created_at', seconds: 60 } })).toThrow();
    });

    it('expires a document when the time in its TTL field comes', async () => {
      interface Lease extends Doc {
        expires_at: string | number;
      }
      const col = fixture.store.collection<Lease>(freshName(), { ttl: { field: 'expires_at', seconds: 0 } });
      const soon = Date.now() + 700;
      await col.insert({ id: 'lease', expires_at: new Date(soon).toISOString() });
      await col.insert({ id: 'later', expires_at: Date.now() + 3_600_000 });
      expect(ids(await col.find())).toEqual(['later', 'lease']);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, soon - Date.now()) + 50));
      expect(await col.get('lease')).toBeNull();
      expect(ids(await col.find())).toEqual(['later']);
      expect(await col.count()).toBe(1);
    });

    it('rejects field names outside the allowed pattern and unknown operators', async () => {
      for (const field of ['$where', 'a;b', "x') OR 1=1 --", 'a b', '', '1abc']) {
        await expect(items.find({ [field]: 1 })).rejects.toThrow();
      }
      await expect(items.find({ n: { $regex: 'x' } as never })).rejects.toThrow();
      await expect(items.find({}, { sort: { 'bad field': 1 } })).rejects.toThrow();
    });
  });
}
