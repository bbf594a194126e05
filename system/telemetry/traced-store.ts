/**
 * The document store as seen through traces: every collection call made on behalf of a recorded trace is a client
 * span (`<system> <operation> <collection>`), whichever adapter is behind the port (SQLite or MongoDB). Calls
 * outside a recorded trace go straight through.
 */
import { inChildSpan } from '../events/trace-context.js';
import type { Collection, CollectionOptions, Doc, DocumentStore } from '../ports/document-store.js';

const OPERATIONS = ['insert', 'get', 'put', 'update', 'increment', 'delete', 'find', 'count'] as const;

/** Wraps `store` so its calls are spans; `system` names the database (`sqlite`, `mongodb`). */
export function tracedDocumentStore(store: DocumentStore, system: string): DocumentStore {
  return {
    collection<T extends Doc>(name: string, options?: CollectionOptions): Collection<T> {
      const inner = store.collection<T>(name, options);
      const traced = {} as Record<(typeof OPERATIONS)[number], unknown>;
      for (const op of OPERATIONS) {
        const method = (inner[op] as (...args: unknown[]) => Promise<unknown>).bind(inner);
        const attributes = { 'db.system.name': system, 'db.operation.name': op, 'db.collection.name': name };
        traced[op] = (...args: unknown[]) => inChildSpan(`${system} ${op} ${name}`, attributes, () => method(...args));
      }
      return traced as unknown as Collection<T>;
    },
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
