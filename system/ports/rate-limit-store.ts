/**
 * The counters behind rate limits: in memory in embedded mode, Redis in cluster mode (one Lua script per verb,
 * so every node counts against the same budget). Each verb is atomic per key: concurrent hits never admit more
 * than the limit. Times come from the caller (`nowMs`), so all nodes judge windows by one rule and tests can
 * move time; windows are aligned to multiples of their length since the epoch.
 */

/** Which counter: a subject (`user:<id>`, `ip:<address>`) and a name inside it (the rule's group). */
export interface CounterKey {
  subject: string;
  name: string;
}

/**
 * How one counter limits, units in the names.
 * - `sliding_window`: at most `limit` hits per `windowMs`, estimated from two fixed windows (the previous one
 *   weighted by how much of it the sliding window still covers).
 * - `token_bucket`: holds up to `capacity` tokens, refilled continuously at `tokensPerWindow` per `windowMs`;
 *   a hit takes one.
 */
export type CounterRule =
  | { algorithm: 'sliding_window'; limit: number; windowMs: number }
  | { algorithm: 'token_bucket'; capacity: number; tokensPerWindow: number; windowMs: number };

/** What a counter says about a hit, in epoch milliseconds. */
export interface CounterVerdict {
  allowed: boolean;
  /** The limit in force: `limit`, or the bucket's `capacity`. */
  limit: number;
  /** Whole hits left after this one (never negative). */
  remaining: number;
  /** When the budget next grows: the end of the current window or a full bucket; when refused, the retry time. */
  resetAtMs: number;
  /** 0 when allowed; otherwise how long until a hit would pass. */
  retryAfterMs: number;
}

/** Rate-limit counters: count, look, forget. */
export interface RateLimitStore {
  /** Counts one hit unless it would pass the rule; a refused hit is not counted. */
  hit(key: CounterKey, rule: CounterRule, nowMs: number): Promise<CounterVerdict>;
  /** What a hit would be told now (remaining before it), without counting or creating anything. */
  peek(key: CounterKey, rule: CounterRule, nowMs: number): Promise<CounterVerdict>;
  /** Forgets every counter of a subject; resolves with how many there were. */
  reset(subject: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
