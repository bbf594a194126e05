import { describe, expect, it } from 'vitest';
import { stampEvent } from '../domain/events.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDataDir } from '../embedded/sqlite.js';
import { createTempDir } from '../../test/support/temp-dir.js';
import { EVENT_RETENTION_DAYS, EventStore } from './event-store.js';

describe('EventStore', () => {
  it(`keeps events for ${EVENT_RETENTION_DAYS} days after their timestamp, and ignores a repeated event id`, async () => {
    const dir = await createTempDir();
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    const events = new EventStore(store);
    const fresh = stampEvent('execution_running', 'exec-1', { execution_id: 'exec-1' }, { user_id: null });
    const old = {
      ...stampEvent('execution_running', 'exec-1', { execution_id: 'exec-1' }, { user_id: null }),
      timestamp: new Date(Date.now() - (EVENT_RETENTION_DAYS + 1) * 24 * 3600 * 1000).toISOString(),
    };
    expect(await events.append(fresh)).toBe(true);
    expect(await events.append(fresh)).toBe(false);
    await events.append(old);
    expect((await events.forAggregate('exec-1', {})).map((e) => e.event_id)).toEqual([fresh.event_id]);
    await store.close();
    await dir.cleanup();
  });

  it('deletes an event into the archive, with who, when and why', async () => {
    const dir = await createTempDir();
    const store = createSqliteDocumentStore(openDataDir(dir.path));
    const events = new EventStore(store);
    const e = stampEvent('execution_running', 'exec-2', { execution_id: 'exec-2' }, { user_id: null });
    await events.append(e);
    const archived = await events.deleteWithArchive(e.event_id, 'admin-1', 'test data');
    expect(archived).toMatchObject({ event_id: e.event_id, deleted_by: 'admin-1', deletion_reason: 'test data' });
    expect(await events.get(e.event_id)).toBeNull();
    expect((await events.archivedFor('exec-2')).map((a) => a.event_id)).toEqual([e.event_id]);
    expect(await events.deleteWithArchive(e.event_id, 'admin-1')).toBeNull();
    await store.close();
    await dir.cleanup();
  });
});
