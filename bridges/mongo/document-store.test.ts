/**
 * What the contract cannot see of the MongoDB adapter: how documents are stored (the port's id as `_id`, the
 * hidden expiry), that nothing of that leaks back, indexes, the TTL sweep and a server that is down. Runs against
 * the real server of test/support/infra.ts (FerretDB here).
 */
import net from 'node:net';
import type { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Doc, DocumentStore } from '../../system/ports/document-store.js';
import { mongoUrl } from '../../test/support/infra.js';
import { createMongoDocumentStore, EXPIRES_FIELD, translateFilter, translateSort } from './document-store.js';
import { adminClient, closeAdminClient, dropDatabase, freshDatabase } from './mongo.fixture.js';

interface Item extends Doc {
  name: string;
  n?: number;
  meta?: { owner: string };
  created_at?: string;
}

afterAll(closeAdminClient);

describe('MongoDB document store', () => {
  let database: string;
  let store: DocumentStore;
  let admin: MongoClient;
  const warnings: { details: object; message: string }[] = [];
  const raw = (collection: string) => admin.db(database).collection<{ _id: string } & Record<string, unknown>>(collection);
  const ids = (docs: Doc[]): string[] => docs.map((doc) => doc.id);

  beforeEach(async () => {
    database = freshDatabase();
    admin = await adminClient();
    warnings.length = 0;
    store = createMongoDocumentStore({
      url: await mongoUrl(),
      database,
      ttlSweepMs: 100,
      logger: { warn: (details, message) => warnings.push({ details, message }) },
    });
  });
  afterEach(async () => {
    await store.close();
    await dropDatabase(database);
  });

  it('stores the id as _id and gives documents back with id and without _id', async () => {
    const items = store.collection<Item>('items');
    await items.insert({ id: 'a', name: 'alpha', meta: { owner: 'ann' } });
    await items.put({ id: 'b', name: 'beta' });

    expect(await raw('items').find({}, { sort: { _id: 1 } }).toArray()).toStrictEqual([
      { _id: 'a', name: 'alpha', meta: { owner: 'ann' } },
      { _id: 'b', name: 'beta' },
    ]);
    const returned = [
      await items.get('a'),
      await items.update('b', { n: 2 }),
      ...(await items.find({}, { sort: { id: 1 } })),
    ];
    for (const doc of returned) {
      expect(doc).not.toBeNull();
      expect(Object.keys(doc!)[0]).toBe('id');
      expect(doc).not.toHaveProperty('_id');
    }
    expect(returned[1]).toStrictEqual({ id: 'b', name: 'beta', n: 2 });
  });

  it('stores what JSON would, as the embedded store does', async () => {
    const items = store.collection<Doc & Record<string, unknown>>('items');
    const when = new Date('2030-01-02T03:04:05.678Z');
    await items.insert({ id: 'j', nan: Number.NaN, inf: Number.POSITIVE_INFINITY, gone: undefined, when, list: [undefined, 1] });
    const expected = { id: 'j', nan: null, inf: null, when: when.toISOString(), list: [null, 1] };
    expect(await items.get('j')).toStrictEqual(expected);
    expect(await items.update('j', { when: new Date(0), nan: Number.NaN, gone: undefined })).toStrictEqual({
      ...expected,
      when: new Date(0).toISOString(),
    });
  });

  it('reads documents written by other MongoDB clients', async () => {
    await raw('items').insertMany([
      { _id: 'x1', name: 'one' },
      { _id: 'x2', name: 'two' },
    ]);
    const items = store.collection<Item>('items');
    expect(await items.get('x2')).toStrictEqual({ id: 'x2', name: 'two' });
    expect(await items.find({ name: 'one' })).toStrictEqual([{ id: 'x1', name: 'one' }]);
  });

  it('translates id to _id inside every operator, in sorts and in combination with other fields', async () => {
    const items = store.collection<Item>('items');
    for (const [i, id] of ['a', 'b', 'c', 'd', 'e'].entries()) await items.insert({ id, name: i % 2 ? 'odd' : 'even', n: i });

    expect(ids(await items.find({ id: { $in: ['b', 'd', 'zzz'] } }))).toEqual(['b', 'd']);
    expect(ids(await items.find({ id: { $nin: ['a', 'e'] } }))).toEqual(['b', 'c', 'd']);
    expect(ids(await items.find({ id: { $ne: 'c' }, name: 'even' }))).toEqual(['a', 'e']);
    expect(ids(await items.find({ id: { $gt: 'a', $lte: 'c' } }))).toEqual(['b', 'c']);
    expect(ids(await items.find({ id: 'd' }))).toEqual(['d']);
    expect(ids(await items.find({ name: 'odd' }, { sort: { id: -1 } }))).toEqual(['d', 'b']);
    expect(await items.count({ id: { $in: ['a', 'b'] }, n: { $gte: 1 } })).toBe(1);

    expect(translateFilter({ id: { $in: ['x', 'y'] }, 'meta.owner': 'ann' })).toStrictEqual({
      _id: { $in: ['x', 'y'] },
      'meta.owner': 'ann',
    });
    expect(translateSort({ id: -1 })).toStrictEqual({ _id: -1 });
    expect(translateSort({ n: 1 })).toStrictEqual({ n: 1, _id: 1 });
  });

  it('refuses _id and the hidden expiry field wherever the port could name them', async () => {
    const items = store.collection<Item>('items');
    await items.insert({ id: 'a', name: 'alpha' });
    await expect(items.find({ _id: 'a' })).rejects.toThrow(/_id/);
    await expect(items.find({}, { sort: { _id: 1 } })).rejects.toThrow(/_id/);
    await expect(items.insert({ id: 'b', name: 'x', _id: 'c' } as Item)).rejects.toThrow(/_id/);
    await expect(items.update('a', { 'meta.owner': 'x' } as Partial<Item>)).rejects.toThrow(/meta\.owner/);
    await expect(items.find({ n: { $in: [{ $gt: 1 }] } } as never)).rejects.toThrow();
    expect(await items.get('a')).toStrictEqual({ id: 'a', name: 'alpha' });
  });

  it('creates the declared indexes once and goes on when the server refuses one', async () => {
    // An index of the same name but another key makes the server refuse ours.
    await raw('items').createIndex({ n: -1 }, { name: 'n_1' });
    const items = store.collection<Item>('items', { indexes: ['name', 'meta.owner', 'n', 'id'] });
    await items.insert({ id: 'a', name: 'alpha', n: 1 });
    store.collection<Item>('items', { indexes: ['name'] });
    expect(await items.count({ n: 1 })).toBe(1);

    const names = (await raw('items').listIndexes().toArray()).map((index) => index.name).sort();
    expect(names).toEqual(['_id_', 'meta.owner_1', 'n_1', 'name_1']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.details).toMatchObject({ collection: 'items', index: 'n' });
  });

  it('keeps the expiry of TTL documents in a hidden date field and purges expired ones from storage', async () => {
    const sessions = store.collection<Item>('sessions', { ttl: { field: 'created_at', seconds: 60 } });
    const fresh = new Date().toISOString();
    await sessions.insert({ id: 'fresh', name: 'f', created_at: fresh });
    await sessions.insert({ id: 'stale', name: 's', created_at: new Date(Date.now() - 120_000).toISOString() });
    await sessions.insert({ id: 'timeless', name: 't' });

    const stored = await raw('sessions').findOne({ _id: 'fresh' });
    expect(stored?.[EXPIRES_FIELD]).toStrictEqual(new Date(Date.parse(fresh) + 60_000));
    expect(await sessions.get('fresh')).toStrictEqual({ id: 'fresh', name: 'f', created_at: fresh });
    expect(await sessions.find({ name: 't' })).toStrictEqual([{ id: 'timeless', name: 't' }]);

    const indexes = (await raw('sessions').listIndexes().toArray()).map((index) => index.name);
    expect(indexes.some((name) => name === 'integr8s_ttl' || name === 'integr8s_expiry')).toBe(true);

    // The sweep (every 100 ms here) deletes what readers no longer see.
    const deadline = Date.now() + 5_000;
    while ((await raw('sessions').countDocuments({ _id: 'stale' })) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await raw('sessions').find({}, { sort: { _id: 1 } }).toArray()).map((doc) => doc._id)).toEqual([
      'fresh',
      'timeless',
    ]);
  });

  it('serializes updates of one document, even from two stores, which FerretDB would otherwise lose', async () => {
    const second = createMongoDocumentStore({ url: await mongoUrl(), database });
    try {
      const handles = [store, second].map((s) => s.collection<Item & Record<string, unknown>>('items'));
      await handles[0]!.insert({ id: 'hot', name: 'h' });
      await Promise.all(Array.from({ length: 50 }, (_, i) => handles[i % 2]!.update('hot', { [`f${i}`]: i })));
      const doc = await handles[1]!.get('hot');
      expect(Object.keys(doc ?? {}).filter((key) => key.startsWith('f'))).toHaveLength(50);
    } finally {
      await second.close();
    }
  });

  it('fails fast and says why when the server is down', async () => {
    const port = await closedPort();
    const down = createMongoDocumentStore({ url: `mongodb://127.0.0.1:${port}/`, database, serverSelectionTimeoutMS: 300 });
    const started = Date.now();
    await expect(down.ping()).rejects.toThrow(/ECONNREFUSED|connect/i);
    await expect(down.collection<Item>('items').get('a')).rejects.toThrow(/ECONNREFUSED|connect/i);
    expect(Date.now() - started).toBeLessThan(5_000);
    await down.close();
    await expect(down.ping()).rejects.toThrow(/closed/);
  });

  it('recovers when the server comes up after the store was created', async () => {
    const target = new URL(await mongoUrl());
    const port = await closedPort();
    const late = createMongoDocumentStore({
      url: `mongodb://127.0.0.1:${port}/?directConnection=true`,
      database,
      serverSelectionTimeoutMS: 300,
    });
    const items = late.collection<Item>('items', { indexes: ['name'] });
    await expect(items.insert({ id: 'a', name: 'alpha' })).rejects.toThrow(/ECONNREFUSED|connect/i);
    // The server "comes up": a loopback proxy to the real one opens on the port the store was given.
    const proxy = await tcpProxy(port, target.hostname, Number(target.port || 27017));
    try {
      await expect(late.ping()).resolves.toBeUndefined();
      await items.insert({ id: 'a', name: 'alpha' });
      expect(await items.get('a')).toStrictEqual({ id: 'a', name: 'alpha' });
      const indexes = (await raw('items').listIndexes().toArray()).map((index) => index.name);
      expect(indexes).toContain('name_1');
    } finally {
      await late.close();
      await proxy.close();
    }
  });
});

/** A TCP proxy on 127.0.0.1:port to host:targetPort, closed with every connection it made. */
async function tcpProxy(port: number, host: string, targetPort: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nobody listens on (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
