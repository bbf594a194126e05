/**
 * The embedded ConcurrencySemaphore: leases in a Map inside this process (one node, so the cap is this
 * node's). Lost on restart, which is what a restarted node wants: no execution of the old process is running.
 * Expired leases are swept by acquire and renew; the map never holds more than the live slots plus the
 * expired ones since the last sweep.
 */
import { checkHolder, checkLease, type ConcurrencySemaphore } from '../ports/concurrency-semaphore.js';

/** Creates an in-memory ConcurrencySemaphore. */
export function createMemorySemaphore(): ConcurrencySemaphore {
  /** holder → lease expiry (epoch ms, caller time). */
  const leases = new Map<string, number>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('concurrency semaphore is closed');
  };
  const sweep = (nowMs: number): void => {
    for (const [holder, expiresAtMs] of leases) if (expiresAtMs <= nowMs) leases.delete(holder);
  };

  return {
    async acquire(holder, capacity, leaseMs, nowMs) {
      ensureOpen();
      checkHolder(holder);
      checkLease(leaseMs, nowMs, capacity);
      sweep(nowMs);
      if (!leases.has(holder) && leases.size >= capacity) return false;
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
    },
  };
}
