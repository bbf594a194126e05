/**
 * TTL collections of the embedded store, beyond the contract: what happens in the table (the expiry column, the
 * periodic purge) and with tables and stores that did not know the TTL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import type { Doc } from '../ports/document-store.js';
import { createSqliteDocumentStore } from './document-store.js';
import { openDataDir, type SqliteDb } from './sqlite.js';

interface Event extends Doc {
  timestamp?: string;
  kind: string;
}

const HOUR = 3_600_000;

describe('embedded document store with a TTL', () => {
  let dir: TempDir;
  let db: SqliteDb;
  let clock: number;
  const now = (): number => clock;
  const rows = (): { id: string; expires_at: number | null }[] =>
    db.prepare('SELECT id, expires_at FROM doc_events ORDER BY id').all() as { id: string; expires_at: number | null }[];

  beforeEach(async () => {
    dir = await createTempDir();
    db = openDataDir(dir.path);
    clock = Date.parse('2030-01-01T00:00:00Z');
  });
  afterEach(async () => {
    if (db.open) db.close();
    await dir.cleanup();
  });

  it('stores each expiry and purges expired rows from the table on the sweep timer', async () => {
    const store = createSqliteDocumentStore(db, { now, ttlSweepMs: 20 });
    const events = store.collection<Event>('events', { ttl: { field: 'timestamp', seconds: 3600 } });
    await events.insert({ id: 'e1', timestamp: new Date(clock - 30 * 60_000).toISOString(), kind: 'a' });
    await events.insert({ id: 'e2', timestamp: new Date(clock).toISOString(), kind: 'a' });
    await events.insert({ id: 'e3', kind: 'b' });
    expect(rows()).toEqual([
      { id: 'e1', expires_at: clock + 30 * 60_000 },
      { id: 'e2', expires_at: clock + HOUR },
      { id: 'e3', expires_at: null },
    ]);

    clock += 45 * 60_000;
    expect(await events.count()).toBe(2);
    await waitFor(() => rows().length === 2);
    expect(rows().map((row) => row.id)).toEqual(['e2', 'e3']);

    clock += HOUR;
    await waitFor(() => rows().length === 1);
    expect(await events.find()).toStrictEqual([{ id: 'e3', kind: 'b' }]);
    await store.close();
  });

  it('adds the expiry column to a table made before the TTL, whose old rows then never expire', async () => {
    const before = createSqliteDocumentStore(db, { now });
    await before.collection<Event>('events').insert({ id: 'old', timestamp: new Date(clock - 10 * HOUR).toISOString(), kind: 'a' });
    await before.close();

    const after = createSqliteDocumentStore(openDataDir(dir.path), { now });
    const events = after.collection<Event>('events', { ttl: { field: 'timestamp', seconds: 3600 } });
    await events.insert({ id: 'new', timestamp: new Date(clock - 2 * HOUR).toISOString(), kind: 'a' });
    expect((await events.find()).map((event) => event.id)).toEqual(['old']);
    // Written again through a store that knows the TTL, the old row gets its expiry.
    await events.put({ id: 'old', timestamp: new Date(clock - 10 * HOUR).toISOString(), kind: 'a' });
    expect(await events.get('old')).toBeNull();
    await after.close();
  });

  it('hides expired rows from a store that was not told the TTL', async () => {
    const knowing = createSqliteDocumentStore(db, { now });
    const events = knowing.collection<Event>('events', { ttl: { field: 'timestamp', seconds: 0 } });
    await events.insert({ id: 'soon', timestamp: new Date(clock + 1000).toISOString(), kind: 'a' });

    const other = createSqliteDocumentStore(db, { now });
    const same = other.collection<Event>('events');
    expect(await same.get('soon')).not.toBeNull();
    // An update through it keeps the expiry the row was written with.
    await same.update('soon', { kind: 'b' });
    clock += 2000;
    expect(await same.get('soon')).toBeNull();
    expect(await same.count()).toBe(0);
    await other.close();
    await knowing.close();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
