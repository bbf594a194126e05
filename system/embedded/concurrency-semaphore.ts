/**
 * The embedded ConcurrencySemaphore: leases in a Map inside this process (one node, so the cap is this
 * node's). Lost on restart, which is what a restarted node wants: no execution of the old process is running.
 * Expired leases are swept by acquire and renew; the map never holds more than the live slots plus the
 * expired ones since the last sweep. The line (see the port) is a second map, swept the same way.
 */
import { checkHolder, checkLease, checkTicket, type ConcurrencySemaphore } from '../ports/concurrency-semaphore.js';

/** A waiter's place: its rank, when it first asked (order within a rank) and until when the place is kept. */
interface Place {
  rank: number;
  sinceMs: number;
  keptUntilMs: number;
}

/** Creates an in-memory ConcurrencySemaphore. */
export function createMemorySemaphore(): ConcurrencySemaphore {
  /** holder → lease expiry (epoch ms, caller time). */
  const leases = new Map<string, number>();
  const line = new Map<string, Place>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('concurrency semaphore is closed');
  };
  const sweep = (nowMs: number): void => {
    for (const [holder, expiresAtMs] of leases) if (expiresAtMs <= nowMs) leases.delete(holder);
    for (const [holder, place] of line) if (place.keptUntilMs <= nowMs) line.delete(holder);
  };
  /** Line order, as Redis orders a sorted set: rank, then first ask, then holder id. */
  const before = (a: Place, aId: string, b: Place, bId: string): boolean =>
    a.rank !== b.rank ? a.rank < b.rank : a.sinceMs !== b.sinceMs ? a.sinceMs < b.sinceMs : aId < bId;

  return {
    async acquire(holder, capacity, leaseMs, nowMs, wait) {
      ensureOpen();
      checkHolder(holder);
      checkLease(leaseMs, nowMs, capacity);
      checkTicket(wait);
      sweep(nowMs);
      if (!leases.has(holder)) {
        let ahead = line.size;
        if (wait) {
          const place = { rank: wait.rank, sinceMs: line.get(holder)?.sinceMs ?? nowMs, keptUntilMs: nowMs + wait.holdPlaceMs };
          line.set(holder, place);
          ahead = [...line].filter(([id, other]) => before(other, id, place, holder)).length;
        }
        if (capacity - leases.size <= ahead) return false;
        line.delete(holder);
      }
      leases.set(holder, nowMs + leaseMs);
      return true;
    },
    async renew(holders, leaseMs, nowMs) {
      ensureOpen();
      holders.forEach(checkHolder);
      checkLease(leaseMs, nowMs);
      sweep(nowMs);
      const lost: string[] = [];
      for (const holder of holders) {
        if (leases.has(holder)) leases.set(holder, nowMs + leaseMs);
        else lost.push(holder);
      }
      return lost;
    },
    async release(holder) {
      ensureOpen();
      checkHolder(holder);
      line.delete(holder);
      return leases.delete(holder);
    },
    async held(nowMs) {
      ensureOpen();
      checkLease(1, nowMs);
      let live = 0;
      for (const expiresAtMs of leases.values()) if (expiresAtMs > nowMs) live++;
      return live;
    },
    async ping() {
      ensureOpen();
    },
    async close() {
      closed = true;
      leases.clear();
      line.clear();
    },
  };
}
