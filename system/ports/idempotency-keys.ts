/**
 * Idempotency keys of `POST /execute`: within its lifetime, a key maps to one execution. A claim is atomic
 * across every node: of concurrent requests with one key, exactly one gets `new`. The document store keeps
 * them in embedded mode, Redis in cluster mode (SET NX with an expiry).
 */

/** What a claim found: the key is new (go ahead), done before (reuse its execution), or held by a request now. */
export type Claim = { kind: 'new' } | { kind: 'done'; executionId: string } | { kind: 'in_progress' };

export interface IdempotencyKeys {
  /** Claims `key` for a new request at `nowMs`; an expired key counts as new. */
  claim(key: string, nowMs?: number): Promise<Claim>;
  /** Records the execution the claimed key produced (keeps the key's expiry). */
  complete(key: string, executionId: string): Promise<void>;
  /** Frees a claimed key after its request failed, so it can be used again. */
  abandon(key: string): Promise<void>;
}

/** How long a key lives: 24 hours, as in Integr8sCode. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
