/**
 * The global cap on executions running at once, shared by every node: in memory in embedded mode, Redis in
 * cluster mode. A slot is held by a holder (the execution id) under a lease that the holder's node renews
 * while the execution runs; a node that dies stops renewing, its leases run out and its slots come back.
 *
 * Times come from the caller (`nowMs`, epoch milliseconds), like the rate-limit counters: a lease taken at
 * `nowMs` for `leaseMs` is live while `nowMs' < nowMs + leaseMs`. Expired leases never count, whether or not
 * they have been swept yet. Every verb is atomic: concurrent acquires from any number of nodes never hold
 * more than `capacity` live slots. `capacity` is given per call, so a changed limit applies at the next
 * acquire; lowering it never takes slots away, it only refuses new holders until the count is below it.
 *
 * Node clocks must roughly agree (NTP): a node whose clock runs ahead sees leases expire early.
 */
export interface ConcurrencySemaphore {
  /**
   * Takes a slot for `holder` if fewer than `capacity` live leases exist, with a lease until
   * `nowMs + leaseMs`. Idempotent: a holder that already holds a live slot keeps it, its lease renewed, and
   * gets true even when the semaphore is full. Resolves false when full.
   */
  acquire(holder: string, capacity: number, leaseMs: number, nowMs: number): Promise<boolean>;
  /**
   * Extends the leases of `holders` to `nowMs + leaseMs`. Resolves with the holders that no longer held a
   * live slot (lease ran out or released): their slots are lost and are not taken back, since another
   * holder may have them by now.
   */
  renew(holders: readonly string[], leaseMs: number, nowMs: number): Promise<string[]>;
  /**
   * Frees `holder`'s slot; resolves true when it had one. A lease that ran out may or may not still be there
   * to free (acquire and renew sweep expired leases; release and held do not), so callers must not rely on
   * the answer for an expired lease: it is for logs and metrics.
   */
  release(holder: string): Promise<boolean>;
  /** How many live leases there are at `nowMs`. */
  held(nowMs: number): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Throws a RangeError unless the arguments of an acquire/renew can be honoured exactly. */
export function checkLease(leaseMs: number, nowMs: number, capacity = 0): void {
  if (!Number.isSafeInteger(capacity) || capacity < 0) throw new RangeError(`invalid capacity ${capacity}`);
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) throw new RangeError(`invalid lease ${leaseMs} ms`);
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new RangeError(`invalid time ${nowMs}`);
}

/** Throws a RangeError unless `holder` is a usable holder id. */
export function checkHolder(holder: string): void {
  if (typeof holder !== 'string' || holder.length === 0 || holder.length > 512) {
    throw new RangeError(`invalid holder ${JSON.stringify(holder)}`);
  }
}
