/** The IdempotencyKeys contract: the document-store and Redis adapters must pass it unchanged. Keys are fresh. */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { IdempotencyKeys } from '../../system/ports/idempotency-keys.js';
import { delay } from '../support/wait.js';

export interface IdempotencyKeysFixture {
  keys: IdempotencyKeys;
  /** Another node's client on the same storage. */
  peer: IdempotencyKeys;
  cleanup(): Promise<void>;
}

/** Registers the contract; `make(ttlMs)` opens the adapter with keys living `ttlMs`. */
export function idempotencyKeysContract(name: string, make: (ttlMs: number) => Promise<IdempotencyKeysFixture>): void {
  describe(`IdempotencyKeys contract: ${name}`, () => {
    let fixture: IdempotencyKeysFixture | undefined;
    const open = async (ttlMs = 60_000) => (fixture = await make(ttlMs));
    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('a new key is claimed once; a second claim sees it in progress, then done with its execution', async () => {
      const { keys, peer } = await open();
      const key = `k-${randomUUID()}`;
      expect(await keys.claim(key)).toEqual({ kind: 'new' });
      expect(await peer.claim(key)).toEqual({ kind: 'in_progress' });
      await keys.complete(key, 'exec-1');
      expect(await peer.claim(key)).toEqual({ kind: 'done', executionId: 'exec-1' });
      expect(await keys.claim(key)).toEqual({ kind: 'done', executionId: 'exec-1' });
    });

    it('an abandoned key can be claimed again', async () => {
      const { keys, peer } = await open();
      const key = `k-${randomUUID()}`;
      expect(await keys.claim(key)).toEqual({ kind: 'new' });
      await keys.abandon(key);
      expect(await peer.claim(key)).toEqual({ kind: 'new' });
    });

    it('of concurrent claims from two nodes, exactly one is new', async () => {
      const { keys, peer } = await open();
      const key = `k-${randomUUID()}`;
      const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? keys : peer).claim(key)));
      expect(claims.filter((c) => c.kind === 'new')).toHaveLength(1);
      expect(claims.filter((c) => c.kind === 'in_progress')).toHaveLength(19);
    });

    it('a key expires after its lifetime, done or not', async () => {
      const { keys, peer } = await open(300);
      const [a, b] = [`k-${randomUUID()}`, `k-${randomUUID()}`];
      await keys.claim(a);
      await keys.claim(b);
      await keys.complete(b, 'exec-2');
      await delay(450);
      expect(await peer.claim(a)).toEqual({ kind: 'new' });
      expect(await peer.claim(b)).toEqual({ kind: 'new' });
    });
  });
}
