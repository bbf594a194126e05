/**
 * The embedded RateLimitStore: counters in a Map inside this process. Counters do not survive a restart (a
 * restarted node starts everyone with a full budget) and are not shared between processes; cluster mode uses
 * Redis for that. Memory is bounded: a counter is dropped once it no longer holds anything (a window two
 * lengths old, a bucket full again), idle ones are swept every `sweepEveryMs`, and past `maxKeys` the least
 * recently used counter is evicted (its owner gets a fresh budget, which fails open rather than refusing).
 * All arithmetic is in integers (bucket tokens are kept in 1/windowMs units), so results are exact.
 */
import type { CounterKey, CounterRule, CounterVerdict, RateLimitStore } from '../ports/rate-limit-store.js';

/** Settings of the in-memory counter store. */
export interface MemoryRateLimitStoreOptions {
  /** Most counters held at once; default 100 000. */
  maxKeys?: number;
  /** How often (in the callers' time) expired counters are swept; default 10 000. */
  sweepEveryMs?: number;
}

/** The in-memory store, with its size visible to tests and metrics. */
export interface MemoryRateLimitStore extends RateLimitStore {
  /** How many counters are held right now. */
  readonly size: number;
}

type State =
  | { kind: 'window'; windowMs: number; startMs: number; current: number; previous: number }
  | { kind: 'bucket'; windowMs: number; tokensPerWindow: number; units: number; atMs: number };

interface Entry {
  subject: string;
  state: State;
  expiresAtMs: number;
}

/** A verdict and the state to keep if the hit is counted. */
interface Evaluation {
  verdict: CounterVerdict;
  next: State;
  expiresAtMs: number;
}

/** Creates an in-memory RateLimitStore. */
export function createMemoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): MemoryRateLimitStore {
  const maxKeys = options.maxKeys ?? 100_000;
  const sweepEveryMs = options.sweepEveryMs ?? 10_000;
  // Insertion order is recency order: a touched counter is moved to the end.
  const entries = new Map<string, Entry>();
  let lastSweepMs = -Infinity;
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('rate-limit store is closed');
  };
  const idOf = (key: CounterKey): string => JSON.stringify([key.subject, key.name]);

  function sweep(nowMs: number): void {
    lastSweepMs = nowMs;
    for (const [id, entry] of entries) if (entry.expiresAtMs <= nowMs) entries.delete(id);
  }

  function live(id: string, nowMs: number): Entry | undefined {
    const entry = entries.get(id);
    if (entry && entry.expiresAtMs <= nowMs) {
      entries.delete(id);
      return undefined;
    }
    return entry;
  }

  function store(id: string, entry: Entry, nowMs: number): void {
    entries.delete(id);
    if (entries.size >= maxKeys) sweep(nowMs);
    while (entries.size >= maxKeys) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
    entries.set(id, entry);
  }

  return {
    get size() {
      return entries.size;
    },
    async hit(key, rule, nowMs) {
      ensureOpen();
      checkRule(rule);
      if (nowMs - lastSweepMs >= sweepEveryMs) sweep(nowMs);
      const id = idOf(key);
      const entry = live(id, nowMs);
      const result = evaluate(entry?.state, rule, nowMs, 1);
      if (result.verdict.allowed) store(id, { subject: key.subject, state: result.next, expiresAtMs: result.expiresAtMs }, nowMs);
      else if (entry) store(id, entry, nowMs);
      return result.verdict;
    },
    async peek(key, rule, nowMs) {
      ensureOpen();
      checkRule(rule);
      const state = live(idOf(key), nowMs)?.state;
      // The budget as it stands (cost 0), and whether a hit would pass (cost 1).
      const standing = evaluate(state, rule, nowMs, 0).verdict;
      const next = evaluate(state, rule, nowMs, 1).verdict;
      const resetAtMs = next.allowed ? standing.resetAtMs : next.resetAtMs;
      return { ...standing, allowed: next.allowed, retryAfterMs: next.retryAfterMs, resetAtMs };
    },
    async reset(subject) {
      ensureOpen();
      let removed = 0;
      for (const [id, entry] of entries) {
        if (entry.subject !== subject) continue;
        entries.delete(id);
        removed++;
      }
      return removed;
    },
    async ping() {
      ensureOpen();
    },
    async close() {
      closed = true;
      entries.clear();
    },
  };
}

function checkRule(rule: CounterRule): void {
  const counts = rule.algorithm === 'sliding_window' ? [rule.limit] : [rule.capacity, rule.tokensPerWindow];
  for (const n of [...counts, rule.windowMs]) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`invalid counter rule ${JSON.stringify(rule)}`);
  }
}

/** The verdict on a hit costing `cost` (0 or 1) and the state after it; `cost` 0 only reads. */
function evaluate(state: State | undefined, rule: CounterRule, nowMs: number, cost: 0 | 1): Evaluation {
  return rule.algorithm === 'sliding_window'
    ? slidingWindow(state?.kind === 'window' ? state : undefined, rule.limit, rule.windowMs, nowMs, cost)
    : tokenBucket(state?.kind === 'bucket' ? state : undefined, rule, nowMs, cost);
}

/** Weighted two-window counter; everything scaled by W so it stays in integers. */
function slidingWindow(
  state: Extract<State, { kind: 'window' }> | undefined,
  limit: number,
  W: number,
  nowMs: number,
  cost: 0 | 1,
): Evaluation {
  const startMs = Math.floor(nowMs / W) * W;
  let current = 0;
  let previous = 0;
  if (state && state.windowMs === W && state.startMs === startMs) {
    current = state.current;
    previous = state.previous;
  } else if (state && state.windowMs === W && state.startMs === startMs - W) {
    previous = state.current;
  }
  const left = W - (nowMs - startMs);
  const allowed = previous * left + (current + cost) * W <= limit * W;
  const counted = allowed ? current + cost : current;
  const remaining = Math.max(0, Math.floor((limit * W - previous * left - counted * W) / W));
  let retryAfterMs = 0;
  if (!allowed) {
    // Later in this window the previous one weighs less; otherwise wait for the next, where `current` is the previous.
    retryAfterMs =
      current + cost <= limit
        ? startMs + W - Math.floor(((limit - cost - current) * W) / previous) - nowMs
        : startMs + 2 * W - Math.floor(((limit - cost) * W) / current) - nowMs;
  }
  return {
    verdict: { allowed, limit, remaining, resetAtMs: allowed ? startMs + W : nowMs + retryAfterMs, retryAfterMs },
    next: { kind: 'window', windowMs: W, startMs, current: counted, previous },
    expiresAtMs: startMs + 2 * W,
  };
}

/** Token bucket with one token = W units, refilled by `tokensPerWindow` units per millisecond. */
function tokenBucket(
  state: Extract<State, { kind: 'bucket' }> | undefined,
  rule: Extract<CounterRule, { algorithm: 'token_bucket' }>,
  nowMs: number,
  cost: 0 | 1,
): Evaluation {
  const { capacity, tokensPerWindow, windowMs: W } = rule;
  const full = capacity * W;
  const comparable = state && state.windowMs === W && state.tokensPerWindow === tokensPerWindow;
  const units = comparable ? Math.min(full, state.units + Math.max(0, nowMs - state.atMs) * tokensPerWindow) : full;
  const allowed = units >= cost * W;
  const after = allowed ? units - cost * W : units;
  const untilFullMs = Math.ceil((full - after) / tokensPerWindow);
  const retryAfterMs = allowed ? 0 : Math.ceil((cost * W - units) / tokensPerWindow);
  return {
    verdict: {
      allowed,
      limit: capacity,
      remaining: Math.floor(after / W),
      resetAtMs: nowMs + (allowed ? untilFullMs : retryAfterMs),
      retryAfterMs,
    },
    next: { kind: 'bucket', windowMs: W, tokensPerWindow, units: after, atMs: nowMs },
    expiresAtMs: nowMs + Math.max(1, untilFullMs),
  };
}
