/**
 * The Redis ConcurrencySemaphore (cluster mode): one sorted set per semaphore, members the holders, scores
 * their lease expiry (epoch ms, caller time). Acquire and renew are Lua scripts, so the sweep of expired
 * leases, the count and the add happen as one step and concurrent acquires from any number of nodes never
 * exceed the capacity. Release is ZREM and held is ZCOUNT over live scores, both atomic by themselves.
 *
 * The key (`<keyPrefix>sem:<semaphore>`, default `integr8s:sem:executions`) carries a PEXPIRE of its longest
 * lease plus a minute, so a cluster that stops entirely leaves nothing behind; Redis drops it anyway when the
 * last holder is released.
 */
import { z } from 'zod';
import { checkHolder, checkLease, type ConcurrencySemaphore } from '../../system/ports/concurrency-semaphore.js';
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
local function keep(key, now)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then redis.call('PEXPIRE', key, math.max(1, tonumber(top[2]) - now) + ${IDLE_GRACE_MS}) end
end
`;

/** KEYS: the set. ARGV: holder, capacity, leaseMs, now. Returns 1 when the holder has a slot. */
const ACQUIRE = `${KEEP}
local now = tonumber(ARGV[4])
sweep(KEYS[1], now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
keep(KEYS[1], now)
return 1
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
  const client = createRedisClient({
    url: options.url,
    name: `${options.name ?? 'integr8s'}:semaphore`,
    logger: options.logger,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
  });
  const acquireScript = defineScript(client, 'integr8sSemaphoreAcquire', ACQUIRE, 1);
  const renewScript = defineScript(client, 'integr8sSemaphoreRenew', RENEW, 1);
  const lifecycle = clientLifecycle(client, 'concurrency semaphore');
  const { ensureOpen } = lifecycle;

  return {
    async acquire(holder, capacity, leaseMs, nowMs) {
      ensureOpen();
      checkHolder(holder);
      checkLease(leaseMs, nowMs, capacity);
      const reply = await acquireScript([key], [holder, capacity, leaseMs, nowMs]);
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
      return Count.parse(await client.zrem(key, holder)) > 0;
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
