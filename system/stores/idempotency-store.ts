import type { Collection, DocumentStore } from '../ports/document-store.js';
import { DuplicateKeyError } from '../ports/document-store.js';

interface IdempotencyRecord {
  id: string;
  execution_id: string | null;
  created_at: string;
  expires_at: number;
}

/** What a claim found: the key is new (go ahead), done before (reuse), or another request holds it right now. */
export type Claim = { kind: 'new' } | { kind: 'done'; executionId: string } | { kind: 'in_progress' };

/** Idempotency keys for POST /execute: the same key within its lifetime maps to the same execution. */
export class IdempotencyStore {
  private readonly rows: Collection<IdempotencyRecord>;

  constructor(
    store: DocumentStore,
    private readonly ttlMs = 24 * 3600 * 1000,
  ) {
    this.rows = store.collection<IdempotencyRecord>('idempotency_keys');
  }

  /** Claims a key for a new request; atomic through the store's unique id. */
  async claim(key: string, now = Date.now()): Promise<Claim> {
    const fresh = { id: key, execution_id: null, created_at: new Date(now).toISOString(), expires_at: now + this.ttlMs };
    try {
      await this.rows.insert(fresh);
      return { kind: 'new' };
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const existing = await this.rows.get(key);
    if (!existing || existing.expires_at <= now) {
      await this.rows.put(fresh);
      return { kind: 'new' };
    }
    return existing.execution_id ? { kind: 'done', executionId: existing.execution_id } : { kind: 'in_progress' };
  }

  complete(key: string, executionId: string): Promise<unknown> {
    return this.rows.update(key, { execution_id: executionId });
  }

  /** Lets the key be used again after the request failed. */
  abandon(key: string): Promise<boolean> {
    return this.rows.delete(key);
  }
}
