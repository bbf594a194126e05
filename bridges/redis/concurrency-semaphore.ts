/**
 * The Redis ConcurrencySemaphore (cluster mode): one sorted set per semaphore, members the holders, scores
 * their lease expiry (epoch ms, caller time); and the line of waiters in two more sorted sets, one scored by
 * order (rank * 10^13 + first ask, epoch ms), one by when the place lapses. Acquire, renew and release are Lua
 * scripts, so the sweeps, the counts and the adds happen as one step and concurrent acquires from any number of
 * nodes never exceed the capacity. Held is ZCOUNT over live scores, atomic by itself.
 *
 * The keys (`<keyPrefix>sem:<semaphore>`, default `integr8s:sem:executions`, plus `:line` and `:line-until`)
 * carry a PEXPIRE of their longest lease or place plus a minute, so a cluster that stops entirely leaves nothing
 * behind; Redis drops them anyway when they empty.
 */
import { z } from 'zod';
import { checkHolder, checkLease, checkTicket, type ConcurrencySemaphore } from '../../system/ports/concurrency-semaphore.js';
import { createRedisClient, defineScript, type RedisLogger, clientLifecycle } from './connection.js';

/** Settings of the Redis semaphore. */
export interface RedisSemaphoreOptions {
  url: string;
  /** Prepended to the key; default `integr8s:`. */
  keyPrefix?: string;
  /** Which semaphore (several can share a server); default `executions`. */
  semaphore?: string;
  logger?: RedisLogger;
  /** Passed to connection.ts; default 2. */
  maxRetriesPerRequest?: number;
  /** Name of this node in `CLIENT LIST`. */
  name?: string;
}

/** How long past its longest lease an idle semaphore key stays in Redis. */
const IDLE_GRACE_MS = 60_000;

const KEEP = `
local function sweep(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
end
local function sweepLine(order, lapse, now)
  local gone = redis.call('ZRANGEBYSCORE', lapse, '-inf', now)
  for i = 1, #gone do redis.call('ZREM', order, gone[i]) end
  redis.call('ZREMRANGEBYSCORE', lapse, '-inf', now)
end
local function keep(key, now)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', key, math.max(1, tonumber(top[2]) - now) + ${IDLE_GRACE_MS}) end
end
`;

/** Order scores: rank * RANK_SPAN + first ask; epoch ms stay below RANK_SPAN for millennia. */
const RANK_SPAN = 1e13;

/**
 * KEYS: the set, the line's order, the line's lapse times. ARGV: holder, capacity, leaseMs, now, rank (-1 without
 * a ticket), holdPlaceMs. Returns 1 when the holder has a slot.
 */
const ACQUIRE = `${KEEP}
local holder = ARGV[1]
local now = tonumber(ARGV[4])
local rank = tonumber(ARGV[5])
sweep(KEYS[1], now)
sweepLine(KEYS[2], KEYS[3], now)
if not redis.call('ZSCORE', KEYS[1], holder) then
  local ahead = redis.call('ZCARD', KEYS[2])
  if rank >= 0 then
    local old = redis.call('ZSCORE', KEYS[2], holder)
    local since = now
    if old then since = tonumber(old) % ${RANK_SPAN} end
    redis.call('ZADD', KEYS[2], rank * ${RANK_SPAN} + since, holder)
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), holder)
    ahead = redis.call('ZRANK', KEYS[2], holder)
  end
  if tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1]) <= ahead then
    keep(KEYS[3], now)
    redis.call('PEXPIRE', KEYS[2], math.max(1, redis.call('PTTL', KEYS[3])))
    return 0
  end
  redis.call('ZREM', KEYS[2], holder)
  redis.call('ZREM', KEYS[3], holder)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), holder)
keep(KEYS[1], now)
return 1
`;

/** KEYS: the set, the line's order, the line's lapse times. ARGV: holder. Returns 1 when it held a slot. */
const RELEASE = `
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
`;

/** KEYS: the set. ARGV: leaseMs, now, holders… Returns the holders that had no live slot. */
const RENEW = `${KEEP}
local now = tonumber(ARGV[2])
local expires = now + tonumber(ARGV[1])
sweep(KEYS[1], now)
local lost = {}
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
keep(KEYS[1], now)
return lost
`;

const Count = z.number().int().nonnegative();

/** Creates a ConcurrencySemaphore over Redis. */
export function createRedisSemaphore(options: RedisSemaphoreOptions): ConcurrencySemaphore {
  const key = `${options.keyPrefix ?? 'integr8s:'}sem:${options.semaphore ?? 'executions'}`;
  const keys = [key, `${key}:line`, `${key}:line-until`];
  const client = createRedisClient({
    url: options.url,
    name: `${options.name ?? 'integr8s'}:semaphore`,
    logger: options.logger,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
  });
  const acquireScript = defineScript(client, 'integr8sSemaphoreAcquire', ACQUIRE, 3);
  const renewScript = defineScript(client, 'integr8sSemaphoreRenew', RENEW, 1);
  const releaseScript = defineScript(client, 'integr8sSemaphoreRelease', RELEASE, 3);
  const lifecycle = clientLifecycle(client, 'concurrency semaphore');
  const { ensureOpen } = lifecycle;

  return {
    async acquire(holder, capacity, leaseMs, nowMs, wait) {
      ensureOpen();
      checkHolder(holder);
      checkLease(leaseMs, nowMs, capacity);
      checkTicket(wait);
      const reply = await acquireScript(keys, [holder, capacity, leaseMs, nowMs, wait?.rank ?? -1, wait?.holdPlaceMs ?? 1]);
      return z.union([z.literal(0), z.literal(1)]).parse(reply) === 1;
    },
    async renew(holders, leaseMs, nowMs) {
      ensureOpen();
      holders.forEach(checkHolder);
      checkLease(leaseMs, nowMs);
      if (holders.length === 0) return [];
      return z.array(z.string()).parse(await renewScript([key], [leaseMs, nowMs, ...holders]));
    },
    async release(holder) {
      ensureOpen();
      checkHolder(holder);
      return Count.parse(await releaseScript(keys, [holder])) > 0;
    },
    async held(nowMs) {
      ensureOpen();
      checkLease(1, nowMs);
      return Count.parse(await client.zcount(key, `(${nowMs}`, '+inf'));
    },
    ping: lifecycle.ping,
    close: lifecycle.close,
  };
}
