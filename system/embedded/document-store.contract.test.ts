import { createTempDir } from '../../test/support/temp-dir.js';
import { documentStoreContract } from '../../test/contracts/document-store.contract.js';
import { createSqliteDocumentStore } from './document-store.js';
import { openDataDir } from './sqlite.js';

documentStoreContract('embedded SQLite', async () => {
  const dir = await createTempDir();
  const store = createSqliteDocumentStore(openDataDir(dir.path));
  return {
    store,
    async cleanup() {
      await store.close();
      await dir.cleanup();
    },
  };
});
