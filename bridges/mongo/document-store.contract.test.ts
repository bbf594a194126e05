import { afterAll } from 'vitest';
import { documentStoreContract } from '../../test/contracts/document-store.contract.js';
import { mongoUrl } from '../../test/support/infra.js';
import { createMongoDocumentStore } from './document-store.js';
import { closeAdminClient, dropDatabase, freshDatabase } from './mongo.fixture.js';

afterAll(closeAdminClient);

documentStoreContract('MongoDB (FerretDB)', async () => {
  const url = await mongoUrl();
  const database = freshDatabase();
  const store = createMongoDocumentStore({ url, database });
  return {
    store,
    async cleanup() {
      await store.close();
      await dropDatabase(database);
    },
  };
});
