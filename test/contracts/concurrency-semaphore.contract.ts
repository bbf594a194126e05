/**
 * The ConcurrencySemaphore contract: every adapter (in-memory, Redis) must pass it unchanged. Each test gets
 * a fresh semaphore. Time is the callers' (`nowMs`) and moves without sleeping.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConcurrencySemaphore } from '../../system/ports/concurrency-semaphore.js';

/** A fresh, empty semaphore, optionally a second client of it (another node), and disposal of both. */
export interface ConcurrencySemaphoreFixture {
  semaphore: ConcurrencySemaphore;
  /** Another node's client of the same semaphore; omit when it only exists inside one process. */
  peer?: ConcurrencySemaphore;
  cleanup(): Promise<void>;
}

const LEASE = 30_000;

/** Registers the ConcurrencySemaphore contract tests for one adapter. */
export function concurrencySemaphoreContract(name: string, make: () => Promise<ConcurrencySemaphoreFixture>): void {
  describe(`ConcurrencySemaphore contract: ${name}`, () => {
    let fixture: ConcurrencySemaphoreFixture;
    let sem: ConcurrencySemaphore;
    let peer: ConcurrencySemaphore;
    const t0 = Math.floor(Date.now() / 1_000) * 1_000;

    beforeEach(async () => {
      fixture = await make();
      sem = fixture.semaphore;
      peer = fixture.peer ?? fixture.semaphore;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('answers ping', async () => {
      await expect(sem.ping()).resolves.toBeUndefined();
    });

    it('admits up to the capacity and refuses the rest', async () => {
      expect(await sem.held(t0)).toBe(0);
      for (let i = 0; i < 3; i++) expect(await sem.acquire(`e${i}`, 3, LEASE, t0)).toBe(true);
      expect(await sem.acquire('e3', 3, LEASE, t0)).toBe(false);
      expect(await peer.acquire('e4', 3, LEASE, t0 + 1)).toBe(false);
      expect(await sem.held(t0)).toBe(3);
      expect(await peer.held(t0)).toBe(3);
      // A larger capacity admits more; a smaller one takes nothing away but refuses newcomers.
      expect(await sem.acquire('e3', 4, LEASE, t0)).toBe(true);
      expect(await sem.acquire('e5', 2, LEASE, t0)).toBe(false);
      expect(await sem.held(t0)).toBe(4);
      expect(await sem.acquire('e6', 0, LEASE, t0)).toBe(false);
    });

    it('acquire is idempotent: a holder keeps its slot, renewed, even when full', async () => {
      expect(await sem.acquire('a', 2, 1_000, t0)).toBe(true);
      expect(await sem.acquire('b', 2, 1_000, t0)).toBe(true);
      expect(await sem.acquire('a', 2, 1_000, t0 + 500)).toBe(true);
      expect(await peer.acquire('a', 2, 1_000, t0 + 600)).toBe(true);
      expect(await sem.held(t0 + 600)).toBe(2);
      // b's lease ran out at t0 + 1000; a's was renewed until t0 + 1600.
      expect(await sem.held(t0 + 1_000)).toBe(1);
      expect(await sem.held(t0 + 1_599)).toBe(1);
      expect(await sem.held(t0 + 1_600)).toBe(0);
    });

    it('hands a freed slot to the waiter that asked first, not to a newcomer or the node that freed it', async () => {
      const wait = { rank: 2, holdPlaceMs: 1_000 };
      for (const h of ['x', 'y']) expect(await sem.acquire(h, 2, LEASE, t0)).toBe(true);
      expect(await peer.acquire('w1', 2, LEASE, t0 + 1, wait)).toBe(false);
      expect(await sem.acquire('w2', 2, LEASE, t0 + 2, wait)).toBe(false);
      expect(await sem.release('x')).toBe(true);
      // One slot free, two waiters: only the first in line may take it.
      expect(await sem.acquire('w2', 2, LEASE, t0 + 3, wait)).toBe(false);
      expect(await sem.acquire('new', 2, LEASE, t0 + 3)).toBe(false);
      expect(await sem.acquire('later', 2, LEASE, t0 + 3, wait)).toBe(false);
      expect(await peer.acquire('w1', 2, LEASE, t0 + 4, wait)).toBe(true);
      expect(await sem.release('y')).toBe(true);
      expect(await sem.acquire('later', 2, LEASE, t0 + 5, wait)).toBe(false);
      expect(await sem.acquire('w2', 2, LEASE, t0 + 5, wait)).toBe(true);
      expect(await sem.held(t0 + 5)).toBe(2);
    });

    it('orders the line by rank before time, and keeps a place across asks even when the rank changes', async () => {
      expect(await sem.acquire('busy', 1, LEASE, t0)).toBe(true);
      expect(await sem.acquire('low', 1, LEASE, t0 + 1, { rank: 5, holdPlaceMs: 1_000 })).toBe(false);
      expect(await peer.acquire('urgent', 1, LEASE, t0 + 2, { rank: 0, holdPlaceMs: 1_000 })).toBe(false);
      expect(await sem.acquire('mid', 1, LEASE, t0 + 3, { rank: 3, holdPlaceMs: 1_000 })).toBe(false);
      await sem.release('busy');
      expect(await sem.acquire('low', 1, LEASE, t0 + 4, { rank: 5, holdPlaceMs: 1_000 })).toBe(false);
      expect(await sem.acquire('mid', 1, LEASE, t0 + 4, { rank: 3, holdPlaceMs: 1_000 })).toBe(false);
      expect(await peer.acquire('urgent', 1, LEASE, t0 + 4, { rank: 0, holdPlaceMs: 1_000 })).toBe(true);
      await peer.release('urgent');
      // low moves up to mid's rank; having asked first, it now goes before mid.
      expect(await sem.acquire('low', 1, LEASE, t0 + 5, { rank: 3, holdPlaceMs: 1_000 })).toBe(true);
      expect(await sem.acquire('mid', 1, LEASE, t0 + 5, { rank: 3, holdPlaceMs: 1_000 })).toBe(false);
    });

    it('a waiter that stops asking loses its place after holdPlaceMs; release withdraws one at once', async () => {
      expect(await sem.acquire('busy', 1, LEASE, t0)).toBe(true);
      expect(await peer.acquire('gone', 1, LEASE, t0 + 1, { rank: 1, holdPlaceMs: 500 })).toBe(false);
      expect(await sem.acquire('withdrawn', 1, LEASE, t0 + 2, { rank: 1, holdPlaceMs: 10_000 })).toBe(false);
      expect(await sem.acquire('patient', 1, LEASE, t0 + 3, { rank: 1, holdPlaceMs: 10_000 })).toBe(false);
      await sem.release('busy');
      expect(await sem.acquire('patient', 1, LEASE, t0 + 400, { rank: 1, holdPlaceMs: 10_000 })).toBe(false);
      expect(await sem.release('withdrawn')).toBe(false);
      // 'gone' last asked at t0 + 1 with 500 ms to keep its place.
      expect(await sem.acquire('patient', 1, LEASE, t0 + 500, { rank: 1, holdPlaceMs: 10_000 })).toBe(false);
      expect(await sem.acquire('patient', 1, LEASE, t0 + 501, { rank: 1, holdPlaceMs: 10_000 })).toBe(true);
    });

    it('expired leases never count, and their slots come back', async () => {
      expect(await sem.acquire('dead-node-exec', 1, 1_000, t0)).toBe(true);
      expect(await peer.acquire('other', 1, 1_000, t0 + 999)).toBe(false);
      expect(await sem.held(t0 + 999)).toBe(1);
      expect(await sem.held(t0 + 1_000)).toBe(0);
      expect(await peer.acquire('other', 1, 1_000, t0 + 1_000)).toBe(true);
      // The expired holder is a newcomer now, and the slot is taken.
      expect(await sem.acquire('dead-node-exec', 1, 1_000, t0 + 1_001)).toBe(false);
      expect(await sem.held(t0 + 1_001)).toBe(1);
    });

    it('renew extends live leases and reports the lost ones without taking them back', async () => {
      await sem.acquire('live', 3, 1_000, t0);
      await sem.acquire('released', 3, 1_000, t0);
      await sem.acquire('late', 3, 500, t0);
      expect(await sem.release('released')).toBe(true);
      const lost = await peer.renew(['live', 'released', 'late', 'never'], 5_000, t0 + 800);
      expect([...lost].sort()).toEqual(['late', 'never', 'released']);
      expect(await sem.held(t0 + 800)).toBe(1);
      expect(await sem.held(t0 + 5_799)).toBe(1);
      expect(await sem.held(t0 + 5_800)).toBe(0);
      expect(await sem.renew([], 5_000, t0)).toEqual([]);
      // A renewed holder still counts against the capacity.
      expect(await sem.acquire('x', 1, 1_000, t0 + 900)).toBe(false);
    });

    it('release frees the slot once; unknown holders release nothing', async () => {
      expect(await sem.acquire('a', 1, LEASE, t0)).toBe(true);
      expect(await peer.acquire('b', 1, LEASE, t0)).toBe(false);
      expect(await peer.release('a')).toBe(true);
      expect(await sem.release('a')).toBe(false);
      expect(await sem.release('nobody')).toBe(false);
      expect(await sem.held(t0)).toBe(0);
      expect(await peer.acquire('b', 1, LEASE, t0)).toBe(true);
    });

    it('keeps holder ids apart, whatever characters they hold', async () => {
      const ids = ['exec:1', 'exec:1 ', 'ünï 🚀', '{tag}', '*', 'x'.repeat(512)];
      for (const id of ids) expect(await sem.acquire(id, ids.length, LEASE, t0)).toBe(true);
      expect(await sem.held(t0)).toBe(ids.length);
      expect(await sem.renew(ids, LEASE, t0 + 1)).toEqual([]);
      for (const id of ids) expect(await sem.release(id)).toBe(true);
    });

    it('never exceeds the capacity under concurrent acquires from two clients', async () => {
      let now = t0;
      for (let round = 0; round < 5; round++) {
        now += 10;
        const at = now;
        const capacity = 7;
        const holders = Array.from({ length: 40 }, (_, i) => `r${round}-h${i}`);
        const results = await Promise.all(
          holders.map((holder, i) => (i % 2 ? peer : sem).acquire(holder, capacity, LEASE, at)),
        );
        const winners = holders.filter((_, i) => results[i]);
        expect(winners).toHaveLength(capacity);
        expect(await sem.held(at)).toBe(capacity);
        // Re-acquiring concurrently (idempotent) changes nothing; losers still lose.
        const again = await Promise.all(holders.map((holder, i) => (i % 2 ? sem : peer).acquire(holder, capacity, LEASE, at)));
        expect(holders.filter((_, i) => again[i])).toEqual(winners);
        await Promise.all(winners.map((holder, i) => (i % 2 ? sem : peer).release(holder)));
        expect(await peer.held(at)).toBe(0);
      }
    });

    it('property: live holders never exceed the capacity, and every answer matches a simple model', async () => {
      const op = fc.oneof(
        fc.record({ kind: fc.constant('acquire' as const), holder: fc.integer({ min: 0, max: 5 }), lease: fc.integer({ min: 1, max: 3_000 }) }),
        fc.record({ kind: fc.constant('release' as const), holder: fc.integer({ min: 0, max: 5 }) }),
        fc.record({ kind: fc.constant('renew' as const), holders: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 3 }), lease: fc.integer({ min: 1, max: 3_000 }) }),
        fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2_000 }) }),
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3 }), async (ops, capacity) => {
          const prefix = `p${run++}-`;
          const model = new Map<string, number>();
          const live = (now: number) => [...model].filter(([, exp]) => exp > now).map(([h]) => h);
          let now = t0 + 100_000 * run;
          for (const [i, o] of ops.entries()) {
            const client = i % 2 ? peer : sem;
            if (o.kind === 'wait') {
              now += o.ms;
              continue;
            }
            if (o.kind === 'acquire') {
              const h = prefix + o.holder;
              const ok = model.has(h) && model.get(h)! > now ? true : live(now).length < capacity;
              expect(await client.acquire(h, capacity, o.lease, now)).toBe(ok);
              if (ok) model.set(h, now + o.lease);
            } else if (o.kind === 'release') {
              const h = prefix + o.holder;
              const wasLive = live(now).includes(h);
              const released = await client.release(h);
              if (wasLive) expect(released).toBe(true);
              model.delete(h);
            } else {
              const hs = o.holders.map((n) => prefix + n);
              const expectedLost = hs.filter((h) => !live(now).includes(h));
              expect([...(await client.renew(hs, o.lease, now))].sort()).toEqual([...expectedLost].sort());
              for (const h of hs) if (!expectedLost.includes(h)) model.set(h, now + o.lease);
            }
            expect(await client.held(now)).toBe(live(now).length);
            expect(live(now).length).toBeLessThanOrEqual(capacity);
          }
          for (const h of model.keys()) await sem.release(h);
        }),
        { numRuns: 40 },
      );
    });

    it('rejects arguments it cannot honour', async () => {
      await expect(sem.acquire('', 1, LEASE, t0)).rejects.toThrow(RangeError);
      await expect(sem.acquire('a', -1, LEASE, t0)).rejects.toThrow(RangeError);
      await expect(sem.acquire('a', 1.5, LEASE, t0)).rejects.toThrow(RangeError);
      await expect(sem.acquire('a', 1, 0, t0)).rejects.toThrow(RangeError);
      await expect(sem.acquire('a', 1, LEASE, t0, { rank: 10, holdPlaceMs: 1 })).rejects.toThrow(RangeError);
      await expect(sem.acquire('a', 1, LEASE, t0, { rank: 0, holdPlaceMs: 0 })).rejects.toThrow(RangeError);
      await expect(sem.renew(['a'], 1, Number.NaN)).rejects.toThrow(RangeError);
      expect(await sem.held(t0)).toBe(0);
    });
  });
}
