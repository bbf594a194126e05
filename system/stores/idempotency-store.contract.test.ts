import { idempotencyKeysContract } from '../../test/contracts/idempotency-keys.contract.js';
import { createTempDir } from '../../test/support/temp-dir.js';
import { createSqliteDocumentStore } from '../embedded/document-store.js';
import { openDataDir } from '../embedded/sqlite.js';
import { IdempotencyStore } from './idempotency-store.js';

idempotencyKeysContract('document store (SQLite)', async (ttlMs) => {
  const dir = await createTempDir();
  const store = createSqliteDocumentStore(openDataDir(dir.path));
  return {
    keys: new IdempotencyStore(store, ttlMs),
    peer: new IdempotencyStore(store, ttlMs),
    async cleanup() {
      await store.close();
      await dir.cleanup();
    },
  };
});
