/**
 * The Redis FanoutBus (cluster mode): Redis pub/sub, so a message published on any node reaches the listeners
 * of every node. Each bus holds two connections: one publishes, one subscribes.
 *
 * One Redis SUBSCRIBE per channel per bus, however many local listeners: listeners are kept per channel
 * (reference counting), the first one subscribes in Redis and the last one to leave unsubscribes. Redis
 * operations of one channel run one after another, and each looks at what the channel needs at that moment
 * (listeners or none) against what Redis has, so any interleaving of subscribe/unsubscribe calls ends
 * consistent. `subscribe` resolves only once Redis has confirmed the subscription (or rejects, and the
 * listener is dropped, when it could not be made, e.g. Redis is down).
 *
 * Listeners run synchronously in arrival order; one that throws is reported (`onListenerError`) and the
 * others still get the message. A listener added while a message is being delivered waits for the next one.
 *
 * Surviving a Redis restart: the subscriber connection reconnects by itself (see connection.ts) and this bus
 * re-subscribes every channel that still has listeners once the connection is ready again. It does this
 * itself rather than through ioredis' `autoResubscribe`, for two reasons: a failed automatic re-subscription
 * would be an unhandled rejection (fatal in Node), and channels whose last listener left during the outage
 * must not come back. Messages published while a node's subscriber is disconnected are lost for that node
 * (pub/sub has no history); SSE sessions recover them from the event store on reconnect.
 *
 * Unsubscribing never rejects: the listener is gone at once; if Redis cannot be told, the next reconnection
 * (which starts from no subscriptions) settles it.
 */
import type { FanoutBus, Unsubscribe } from '../../system/ports/fanout-bus.js';
import { closeRedisClient, createRedisClient, ensureReachable, pingRedis, type RedisLogger } from './connection.js';

/** Settings of the Redis bus. */
export interface RedisBusOptions {
  url: string;
  /** Prepended to every channel name in Redis, so several deployments (or tests) can share a server; default `fanout:`. */
  channelPrefix?: string;
  /** Connection trouble and failed unsubscriptions go here. */
  logger?: RedisLogger;
  /** Receives errors thrown by listeners; defaults to the logger's warn, else a line on stderr. */
  onListenerError?: (error: unknown, channel: string) => void;
  /** Passed to connection.ts (a queued command survives this many reconnection attempts); default 2. */
  maxRetriesPerRequest?: number;
  /** Name of this node in `CLIENT LIST`. */
  name?: string;
}

interface Subscription {
  listener: (payload: string) => void;
}

interface Channel {
  /** The name in Redis (prefixed). */
  redisName: string;
  subscriptions: Set<Subscription>;
  /** Whether Redis has this channel subscribed on the subscriber connection. */
  inRedis: boolean;
  /** The last Redis operation of this channel; the next one starts after it. */
  tail: Promise<void>;
  /** Operations queued or running. */
  pending: number;
}

/** Creates a FanoutBus over Redis pub/sub. */
export function createRedisBus(options: RedisBusOptions): FanoutBus {
  const prefix = options.channelPrefix ?? 'fanout:';
  const logger = options.logger;
  const name = options.name ?? 'integr8s';
  const onListenerError =
    options.onListenerError ??
    ((error: unknown, channel: string) => {
      if (logger) logger.warn({ channel, err: error instanceof Error ? error.message : String(error) }, 'fan-out listener threw');
      else console.error(`fan-out listener on '${channel}' threw:`, error);
    });
  const common = { url: options.url, logger, maxRetriesPerRequest: options.maxRetriesPerRequest };
  const publisher = createRedisClient({ ...common, name: `${name}:fanout-pub` });
  const subscriber = createRedisClient({ ...common, name: `${name}:fanout-sub`, autoResubscribe: false });
  const channels = new Map<string, Channel>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('fan-out bus is closed');
  };

  subscriber.on('message', (redisName: string, payload: string) => {
    if (!redisName.startsWith(prefix)) return;
    const channel = redisName.slice(prefix.length);
    const entry = channels.get(channel);
    if (!entry) return;
    const subscriptions = entry.subscriptions;
    for (const subscription of [...subscriptions]) {
      if (!subscriptions.has(subscription)) continue;
      try {
        subscription.listener(payload);
      } catch (error) {
        onListenerError(error, channel);
      }
    }
  });
  // A dropped connection takes every subscription with it; the new one starts from none.
  subscriber.on('close', () => {
    for (const entry of channels.values()) entry.inRedis = false;
  });
  subscriber.on('ready', () => {
    for (const [channel, entry] of channels) {
      if (entry.subscriptions.size === 0) continue;
      sync(channel, entry).catch((error: unknown) => {
        logger?.warn({ channel, err: String(error) }, 'fan-out re-subscription failed; will retry on the next reconnection');
      });
    }
  });

  /** Brings Redis in line with the channel's listeners, after any operation already under way. */
  function sync(channel: string, entry: Channel): Promise<void> {
    entry.pending++;
    const step = entry.tail.then(async () => {
      const wanted = entry.subscriptions.size > 0 && !closed;
      if (wanted === entry.inRedis) return;
      if (wanted) {
        await subscriber.subscribe(entry.redisName);
        entry.inRedis = true;
      } else {
        await subscriber.unsubscribe(entry.redisName);
        entry.inRedis = false;
      }
    });
    const settled = step.then(
      () => undefined,
      () => undefined,
    );
    entry.tail = settled.then(() => {
      entry.pending--;
      // An idle channel costs nothing: drop it once nothing listens, Redis agrees and nothing is queued.
      if (entry.pending === 0 && entry.subscriptions.size === 0 && !entry.inRedis && channels.get(channel) === entry) {
        channels.delete(channel);
      }
    });
    return step;
  }

  return {
    async publish(channel, payload) {
      ensureOpen();
      ensureReachable(publisher);
      await publisher.publish(prefix + channel, payload);
    },
    async subscribe(channel, listener) {
      ensureOpen();
      ensureReachable(subscriber);
      let entry = channels.get(channel);
      if (!entry) {
        entry = { redisName: prefix + channel, subscriptions: new Set(), inRedis: false, tail: Promise.resolve(), pending: 0 };
        channels.set(channel, entry);
      }
      const subscription: Subscription = { listener };
      entry.subscriptions.add(subscription);
      const current = entry;
      try {
        await sync(channel, current);
      } catch (error) {
        current.subscriptions.delete(subscription);
        if (current.subscriptions.size === 0) sync(channel, current).catch(() => {});
        throw error;
      }
      let active = true;
      const unsubscribe: Unsubscribe = async () => {
        if (!active) return;
        active = false;
        current.subscriptions.delete(subscription);
        if (current.subscriptions.size > 0 || closed) return;
        try {
          await sync(channel, current);
        } catch (error) {
          logger?.warn({ channel, err: String(error) }, 'fan-out unsubscribe failed; settled on reconnection');
        }
      };
      return unsubscribe;
    },
    async ping() {
      ensureOpen();
      await Promise.all([pingRedis(publisher), pingRedis(subscriber)]);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const entry of channels.values()) entry.subscriptions.clear();
      channels.clear();
      await Promise.all([closeRedisClient(publisher), closeRedisClient(subscriber)]);
    },
  };
}
