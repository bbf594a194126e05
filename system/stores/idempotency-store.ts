import type { Collection, DocumentStore } from '../ports/document-store.js';
import { DuplicateKeyError } from '../ports/document-store.js';
import { IDEMPOTENCY_TTL_MS, type Claim, type IdempotencyKeys } from '../ports/idempotency-keys.js';

interface IdempotencyRecord {
  id: string;
  execution_id: string | null;
  created_at: string;
  expires_at: number;
}

/** Idempotency keys in the document store (embedded mode): the store's unique id makes a claim atomic. */
export class IdempotencyStore implements IdempotencyKeys {
  private readonly rows: Collection<IdempotencyRecord>;

  constructor(
    store: DocumentStore,
    private readonly ttlMs = IDEMPOTENCY_TTL_MS,
  ) {
    this.rows = store.collection<IdempotencyRecord>('idempotency_keys', { ttl: { field: 'expires_at', seconds: 0 } });
  }

  async claim(key: string, now = Date.now(), attempt = 1): Promise<Claim> {
    const fresh = { id: key, execution_id: null, created_at: new Date(now).toISOString(), expires_at: now + this.ttlMs };
    try {
      await this.rows.insert(fresh);
      return { kind: 'new' };
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const existing = await this.rows.get(key);
    if (!existing || existing.expires_at <= now) {
      // Gone or expired between our insert and our read: try once more (a second race means another request won).
      if (attempt > 1) return { kind: 'in_progress' };
      if (existing) await this.rows.delete(key);
      return this.claim(key, now, attempt + 1);
    }
    return existing.execution_id ? { kind: 'done', executionId: existing.execution_id } : { kind: 'in_progress' };
  }

  async complete(key: string, executionId: string): Promise<void> {
    await this.rows.update(key, { execution_id: executionId });
  }

  async abandon(key: string): Promise<void> {
    await this.rows.delete(key);
  }
}
