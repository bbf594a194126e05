/**
 * Idempotency keys in Redis (cluster mode): `SET key "" NX PX ttl` claims atomically on every node; the value
 * becomes the execution id once the request succeeded, keeping the key's expiry.
 */
import { IDEMPOTENCY_TTL_MS, type Claim, type IdempotencyKeys } from '../../system/ports/idempotency-keys.js';
import { clientLifecycle, createRedisClient, type RedisLogger } from './connection.js';

export interface RedisIdempotencyKeysOptions {
  url: string;
  /** Prepended to every key; default `integr8s:`. */
  keyPrefix?: string;
  logger?: RedisLogger;
  /** Name of this node in `CLIENT LIST`. */
  name?: string;
  ttlMs?: number;
}

export function createRedisIdempotencyKeys(options: RedisIdempotencyKeysOptions): IdempotencyKeys & { close(): Promise<void>; ping(): Promise<void> } {
  const client = createRedisClient({ url: options.url, ...(options.logger ? { logger: options.logger } : {}), ...(options.name ? { name: options.name } : {}) });
  const lifecycle = clientLifecycle(client, 'idempotency keys');
  const ttlMs = options.ttlMs ?? IDEMPOTENCY_TTL_MS;
  const keyOf = (key: string) => `${options.keyPrefix ?? 'integr8s:'}idem:${key}`;

  return {
    async claim(key) {
      lifecycle.ensureOpen();
      for (let attempt = 0; attempt < 2; attempt++) {
        if ((await client.set(keyOf(key), '', 'PX', ttlMs, 'NX')) === 'OK') return { kind: 'new' } satisfies Claim;
        const value = await client.get(keyOf(key));
        // Expired between the two calls: claim again.
        if (value === null) continue;
        return value === '' ? { kind: 'in_progress' } : { kind: 'done', executionId: value };
      }
      return { kind: 'in_progress' };
    },
    async complete(key, executionId) {
      lifecycle.ensureOpen();
      await client.set(keyOf(key), executionId, 'KEEPTTL', 'XX');
    },
    async abandon(key) {
      lifecycle.ensureOpen();
      await client.del(keyOf(key));
    },
    ping: lifecycle.ping,
    close: lifecycle.close,
  };
}
