import { describe, expect, it } from 'vitest';
import { withTempDir } from '../../test/support/temp-dir.js';
import { databasePath, openDataDir, releaseDatabase, retainDatabase } from './sqlite.js';

describe('embedded database', () => {
  it('opens DATA_DIR/integr8s.db in WAL mode with synchronous=NORMAL and a busy timeout', async () => {
    await withTempDir(async (path) => {
      const db = openDataDir(`${path}/nested/data`);
      expect(db.name).toBe(databasePath(`${path}/nested/data`));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
      db.close();
    });
  });

  it('closes the connection when its last holder releases it', async () => {
    await withTempDir(async (path) => {
      const db = openDataDir(path);
      retainDatabase(db);
      retainDatabase(db);
      releaseDatabase(db);
      expect(db.open).toBe(true);
      releaseDatabase(db);
      expect(db.open).toBe(false);
      releaseDatabase(db);
    });
  });
});
