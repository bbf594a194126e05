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
 * Slots go out in order. An acquire that carries a WaitTicket and is refused keeps a place in the semaphore's
 * line: live waiters are ordered by rank (lower first), then by when they first asked. A new holder is admitted
 * only while the free slots outnumber the live waiters ahead of it (for an acquire without a ticket: all live
 * waiters). So a node that frees a slot cannot keep handing it to its own next execution while other nodes
 * wait: with one ticket per node (its local next), nodes take turns. A waiter keeps its place while it asks
 * again within `holdPlaceMs` of its last ask; a waiter that stops asking (its node died, its execution went
 * elsewhere) drops out by itself, and release() withdraws it at once.
 *
 * Node clocks must roughly agree (NTP): a node whose clock runs ahead sees leases expire early.
 */
export interface ConcurrencySemaphore {
  /**
   * Takes a slot for `holder` if fewer than `capacity` live leases exist and no live waiter is ahead of it
   * (see above), with a lease until `nowMs + leaseMs`. Idempotent: a holder that already holds a live slot
   * keeps it, its lease renewed, and gets true even when the semaphore is full. Resolves false otherwise;
   * with a `wait` ticket the holder then keeps (or takes) its place in line.
   */
  acquire(holder: string, capacity: number, leaseMs: number, nowMs: number, wait?: WaitTicket): Promise<boolean>;
  /**
   * Extends the leases of `holders` to `nowMs + leaseMs`. Resolves with the holders that no longer held a
   * live slot (lease ran out or released): their slots are lost and are not taken back, since another
   * holder may have them by now.
   */
  renew(holders: readonly string[], leaseMs: number, nowMs: number): Promise<string[]>;
  /**
   * Frees `holder`'s slot and withdraws it from the line; resolves true when it had a slot. A lease that ran out may or may not still be there
   * to free (acquire and renew sweep expired leases; release and held do not), so callers must not rely on
   * the answer for an expired lease: it is for logs and metrics.
   */
  release(holder: string): Promise<boolean>;
  /** How many live leases there are at `nowMs`. */
  held(nowMs: number): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A place in the semaphore's line for an acquire that has to wait. */
export interface WaitTicket {
  /** Lower goes first; an integer from 0 to MAX_WAIT_RANK. */
  rank: number;
  /** The place is kept while the holder asks again within this many ms of its last ask. */
  holdPlaceMs: number;
}

export const MAX_WAIT_RANK = 9;

/** Throws a RangeError unless `wait` is a usable ticket. */
export function checkTicket(wait: WaitTicket | undefined): void {
  if (wait === undefined) return;
  if (!Number.isSafeInteger(wait.rank) || wait.rank < 0 || wait.rank > MAX_WAIT_RANK) throw new RangeError(`invalid wait rank ${wait.rank}`);
  if (!Number.isSafeInteger(wait.holdPlaceMs) || wait.holdPlaceMs < 1) throw new RangeError(`invalid hold-place time ${wait.holdPlaceMs} ms`);
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
