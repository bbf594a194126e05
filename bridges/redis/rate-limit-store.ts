/**
 * The Redis RateLimitStore (cluster mode): every node counts against the same budget. Same rules, same
 * arithmetic and same answers as the embedded store (system/embedded/rate-limit-store.ts): the counting is
 * a Lua port of it, one script per verb, so each verb is atomic per key; times are the callers' (`nowMs`).
 *
 * Layout (all under `keyPrefix`, default `integr8s:`):
 * - `rl:{<subject>}:<name>`: one hash per counter. A window holds its start, current and previous counts;
 *   a bucket its token units (1/windowMs of a token) and when they were counted. Both hold `exp`, the caller
 *   time after which the counter is worth nothing (treated as absent, like the embedded store), and the key
 *   carries the same lifetime as a PEXPIRE, so an idle counter vanishes from Redis by itself.
 * - `rl:{<subject>}`: the set of that subject's counter keys, so `reset` is one atomic script instead of a
 *   SCAN over the whole keyspace; it expires with the longest-lived counter it lists.
 * Subject and name are URI-encoded, so neither `:` nor braces can make two counters collide; the braces are
 * a Redis Cluster hash tag that keeps a subject's keys in one slot (the reset script touches them together).
 *
 * A refused hit writes nothing and `peek` never writes. Arithmetic is in integers held in Lua's doubles,
 * exact below 2^53 like the embedded store's.
 */
import { z } from 'zod';
import type { CounterKey, CounterRule, CounterVerdict, RateLimitStore } from '../../system/ports/rate-limit-store.js';
import { createRedisClient, defineScript, type RedisLogger, clientLifecycle } from './connection.js';

/** Settings of the Redis counter store. */
export interface RedisRateLimitStoreOptions {
  url: string;
  /** Prepended to every key; default `integr8s:`. */
  keyPrefix?: string;
  logger?: RedisLogger;
  /** Passed to connection.ts; default 2. */
  maxRetriesPerRequest?: number;
  /** Name of this node in `CLIENT LIST`. */
  name?: string;
}

/** Loads a counter's state unless it is missing or past its caller-time expiry; the window and bucket math. */
const PRELUDE = `
local function load(key, now)
  local f = redis.call('HMGET', key, 'kind', 'W', 'a', 'b', 'c', 'exp')
  if not f[1] then return nil end
  local exp = tonumber(f[6])
  if exp == nil or exp <= now then return nil end
  return { kind = f[1], W = tonumber(f[2]), a = tonumber(f[3]), b = tonumber(f[4]), c = tonumber(f[5]) }
end

-- Weighted two-window counter, scaled by W to stay in integers. State: a = window start, b = current, c = previous.
local function window(s, limit, W, now, cost)
  local startMs = math.floor(now / W) * W
  local current, previous = 0, 0
  if s and s.kind == 'w' and s.W == W then
    if s.a == startMs then
      current = s.b
      previous = s.c
    elseif s.a == startMs - W then
      previous = s.b
    end
  end
  local left = W - (now - startMs)
  local allowed = previous * left + (current + cost) * W <= limit * W
  local counted = current
  if allowed then counted = current + cost end
  local remaining = math.max(0, math.floor((limit * W - previous * left - counted * W) / W))
  local retry = 0
  if not allowed then
    if current + cost <= limit then
      retry = startMs + W - math.floor(((limit - cost - current) * W) / previous) - now
    else
      retry = startMs + 2 * W - math.floor(((limit - cost) * W) / current) - now
    end
  end
  local resetAt = now + retry
  if allowed then resetAt = startMs + W end
  return { allowed, limit, remaining, resetAt, retry }, { 'w', W, startMs, counted, previous }, startMs + 2 * W
end

-- Token bucket, one token = W units, refilled by tpw units per ms. State: a = units, b = counted at, c = tpw.
local function bucket(s, capacity, tpw, W, now, cost)
  local full = capacity * W
  local units = full
  if s and s.kind == 'b' and s.W == W and s.c == tpw then
    units = math.min(full, s.a + math.max(0, now - s.b) * tpw)
  end
  local allowed = units >= cost * W
  local after = units
  if allowed then after = units - cost * W end
  local untilFull = math.ceil((full - after) / tpw)
  local retry = 0
  if not allowed then retry = math.ceil((cost * W - units) / tpw) end
  local resetAt = now + untilFull
  if not allowed then resetAt = now + retry end
  return { allowed, capacity, math.floor(after / W), resetAt, retry }, { 'b', W, after, now, tpw }, now + math.max(1, untilFull)
end

-- ARGV: algorithm ('w' | 'b'), now, limit or capacity, windowMs, tokensPerWindow (0 for a window).
local function evaluate(s, cost)
  local now = tonumber(ARGV[2])
  if ARGV[1] == 'w' then
    return window(s, tonumber(ARGV[3]), tonumber(ARGV[4]), now, cost)
  end
  return bucket(s, tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[4]), now, cost)
end

local function reply(v, allowed, resetAt, retry)
  local ok = 0
  if allowed then ok = 1 end
  return { ok, v[2], v[3], resetAt, retry }
end
`;

/** KEYS: counter, subject set. Counts the hit if it passes; returns [allowed, limit, remaining, resetAtMs, retryAfterMs]. */
const HIT = `${PRELUDE}
local now = tonumber(ARGV[2])
local s = load(KEYS[1], now)
local v, st, exp = evaluate(s, 1)
if v[1] then
  local ttl = exp - now
  redis.call('HSET', KEYS[1], 'kind', st[1], 'W', st[2], 'a', st[3], 'b', st[4], 'c', st[5], 'exp', exp)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('SADD', KEYS[2], KEYS[1])
  if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return reply(v, v[1], v[4], v[5])
`;

/** KEYS: counter. What a hit would be told now, reading only. */
const PEEK = `${PRELUDE}
local s = load(KEYS[1], tonumber(ARGV[2]))
local standing = evaluate(s, 0)
local nxt = evaluate(s, 1)
local resetAt = standing[4]
if not nxt[1] then resetAt = nxt[4] end
return reply(standing, nxt[1], resetAt, nxt[5])
`;

/** KEYS: subject set. Deletes the subject's counters; returns how many existed. */
const RESET = `
local members = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for i = 1, #members, 500 do
  removed = removed + redis.call('DEL', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('DEL', KEYS[1])
return removed
`;

const Verdict = z.tuple([z.union([z.literal(0), z.literal(1)]), z.number(), z.number(), z.number(), z.number()]);

/** Creates a RateLimitStore over Redis. */
export function createRedisRateLimitStore(options: RedisRateLimitStoreOptions): RateLimitStore {
  const prefix = `${options.keyPrefix ?? 'integr8s:'}rl:`;
  const client = createRedisClient({
    url: options.url,
    name: `${options.name ?? 'integr8s'}:rate-limit`,
    logger: options.logger,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
  });
  const hitScript = defineScript(client, 'integr8sRateLimitHit', HIT, 2);
  const peekScript = defineScript(client, 'integr8sRateLimitPeek', PEEK, 1);
  const resetScript = defineScript(client, 'integr8sRateLimitReset', RESET, 1);
  const lifecycle = clientLifecycle(client, 'rate-limit store');
  const { ensureOpen } = lifecycle;
  const subjectKey = (subject: string): string => `${prefix}{${encodeURIComponent(subject)}}`;
  const counterKey = (key: CounterKey): string => `${subjectKey(key.subject)}:${encodeURIComponent(key.name)}`;
  const argsOf = (rule: CounterRule, nowMs: number): (string | number)[] =>
    rule.algorithm === 'sliding_window'
      ? ['w', nowMs, rule.limit, rule.windowMs, 0]
      : ['b', nowMs, rule.capacity, rule.windowMs, rule.tokensPerWindow];
  const verdictOf = (raw: unknown): CounterVerdict => {
    const [allowed, limit, remaining, resetAtMs, retryAfterMs] = Verdict.parse(raw);
    return { allowed: allowed === 1, limit, remaining, resetAtMs, retryAfterMs };
  };

  return {
    async hit(key, rule, nowMs) {
      ensureOpen();
      checkRule(rule, nowMs);
      const k = counterKey(key);
      return verdictOf(await hitScript([k, subjectKey(key.subject)], argsOf(rule, nowMs)));
    },
    async peek(key, rule, nowMs) {
      ensureOpen();
      checkRule(rule, nowMs);
      return verdictOf(await peekScript([counterKey(key)], argsOf(rule, nowMs)));
    },
    async reset(subject) {
      ensureOpen();
      return z.number().int().nonnegative().parse(await resetScript([subjectKey(subject)], []));
    },
    ping: lifecycle.ping,
    close: lifecycle.close,
  };
}

/** The embedded store's rule check, plus a time that survives the trip to Lua unchanged. */
function checkRule(rule: CounterRule, nowMs: number): void {
  const counts = rule.algorithm === 'sliding_window' ? [rule.limit] : [rule.capacity, rule.tokensPerWindow];
  for (const n of [...counts, rule.windowMs]) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`invalid counter rule ${JSON.stringify(rule)}`);
  }
  if (!Number.isSafeInteger(nowMs) || nowMs < 0) throw new RangeError(`invalid time ${nowMs}`);
}
