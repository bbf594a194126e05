/**
 * The one way this project makes ioredis clients, so every Redis adapter behaves the same when Redis is slow,
 * down or restarting.
 *
 * - Connects at once (`lazyConnect: false`) and reconnects forever, backing off 50 ms, 100 ms, … capped at
 *   about one second (plus a little jitter so a cluster of nodes does not reconnect in lockstep).
 * - Never crashes the process: an `error` listener is always attached, and connection errors are reported
 *   quietly, once per outage, to an optional logger (then once more when the connection is back).
 * - Commands fail instead of waiting forever. With the offline queue on (the default), a command issued while
 *   the connection is down waits in ioredis' offline queue and is either sent once the connection is ready
 *   again, or rejected with a `MaxRetriesPerRequestError` after `maxRetriesPerRequest + 1` failed reconnection
 *   attempts (by default 3, which is a few hundred milliseconds into an outage and at most ~3 s later on, when
 *   the back-off has reached its cap). Commands already written when the connection dropped are handled the
 *   same way: re-sent on reconnection (so a non-idempotent script may, rarely, run twice) or rejected with the
 *   queue. With `offlineQueue: false` a command issued while the connection is not ready rejects at once
 *   ("Stream isn't writeable…"), including during the first connection right after creation.
 * - Adapters fail fast: every verb first calls `ensureReachable`, which rejects at once with
 *   `RedisUnavailableError` while the client knows the connection is down (between reconnection attempts),
 *   so an outage costs callers an error, not a stall. Only a call made while a connection attempt is under
 *   way (the first one after creation included) goes through the offline queue described above.
 * - `pingRedis` does the same, so health checks answer quickly.
 * - A client recovers by itself: nothing has to be recreated after Redis comes back.
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { Redis, type Command, type RedisOptions } from 'ioredis';
import type { WriteableStream } from 'ioredis/built/types.js';
import { endFailed, tracer } from '../../system/events/trace-context.js';
import { withTimeout } from '../../system/util/with-timeout.js';

/** Where connection trouble is reported; a pino logger fits. */
export interface RedisLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** Settings of one client. */
export interface RedisClientOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Shown in `CLIENT LIST` and in log lines, e.g. `integr8s:fanout-pub`. */
  name?: string;
  /** Receives connection errors (once per outage) and recoveries; nothing is logged without it. */
  logger?: RedisLogger;
  /** Reconnection attempts a queued command survives before it is rejected; default 2. */
  maxRetriesPerRequest?: number;
  /** Queue commands issued while disconnected (see the module comment); default true. */
  offlineQueue?: boolean;
  /** Longest wait between reconnection attempts, in ms; default 1 000. */
  maxReconnectDelayMs?: number;
  /** Let ioredis re-subscribe channels after a reconnection; default true (the fan-out bus does it itself). */
  autoResubscribe?: boolean;
}

/** The back-off between reconnection attempts: 50 ms doubling, capped, with up to 10 % jitter. */
export function reconnectDelay(attempt: number, capMs = 1_000): number {
  const base = Math.min(capMs, 50 * 2 ** Math.min(Math.max(attempt - 1, 0), 10));
  return Math.round(base + Math.random() * base * 0.1);
}

/** Creates a client with the project's options; it starts connecting at once. */
export function createRedisClient(options: RedisClientOptions): Redis {
  // CLIENT SETNAME refuses spaces and newlines, which would fail every connection.
  const name = (options.name ?? 'integr8s').replace(/[^\x21-\x7e]/g, '_');
  const cap = options.maxReconnectDelayMs ?? 1_000;
  const settings: RedisOptions = {
    lazyConnect: false,
    connectionName: name,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    enableOfflineQueue: options.offlineQueue ?? true,
    autoResubscribe: options.autoResubscribe ?? true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => reconnectDelay(attempt, cap),
  };
  const client = new Redis(options.url, settings);
  const logger = options.logger;
  let troubled = false;
  client.on('error', (error: unknown) => {
    if (troubled) return;
    troubled = true;
    logger?.warn({ redis: name, err: describe(error) }, 'redis connection trouble; retrying');
  });
  client.on('ready', () => {
    if (!troubled) return;
    troubled = false;
    logger?.info({ redis: name }, 'redis connection restored');
  });
  traceCommands(client);
  return client;
}

/**
 * Makes every command sent on behalf of a traced operation a client span (`redis <COMMAND>`), ended when its reply
 * (or error) arrives; commands outside a recorded trace cost one context read.
 */
function traceCommands(client: Redis): void {
  const send = client.sendCommand.bind(client);
  client.sendCommand = (command: Command, stream?: WriteableStream): unknown => {
    if (!trace.getSpan(context.active())?.isRecording()) return send(command, stream);
    const span = tracer().startSpan(`redis ${command.name}`, { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'redis', 'db.operation.name': command.name } });
    const result = send(command, stream);
    command.promise.then(
      () => span.end(),
      (err: unknown) => endFailed(span, err),
    );
    return result;
  };
}

/** Redis cannot be reached right now; the client keeps reconnecting by itself. */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** Throws RedisUnavailableError when the client knows its connection is down (or it was closed). */
export function ensureReachable(client: Redis): void {
  if (client.status === 'end') throw new RedisUnavailableError('redis client is closed');
  if (client.status === 'reconnecting' || client.status === 'close') {
    throw new RedisUnavailableError(`redis is unreachable (${client.status})`);
  }
}

/** Rejects at once when the client is known to be disconnected; otherwise sends PING. */
export async function pingRedis(client: Redis): Promise<void> {
  ensureReachable(client);
  await client.ping();
}

/**
 * Closes a client: QUIT when connected (so replies in flight arrive), otherwise drops the socket. Commands
 * still queued are rejected: ioredis leaves them pending forever when it is closed between reconnection
 * attempts (its status then stays `reconnecting`), so the queue is flushed here.
 */
export async function closeRedisClient(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await withTimeout(client.quit(), 1_000);
    } catch {
      // fall through to disconnect
    }
  }
  client.disconnect(false);
  if ((client.status as string) !== 'end') {
    // Not part of ioredis' typed API; guarded so a future version without it only loses this cleanup.
    const internals = client as unknown as { flushQueue?: (error: Error) => void };
    if (typeof internals.flushQueue === 'function') internals.flushQueue.call(client, new RedisUnavailableError('redis client is closed'));
  }
}

/** A Lua script bound to a client, called with its keys and arguments; the raw reply is for the caller to check. */
export type RedisScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/**
 * Defines a Lua script on a client (ioredis `defineCommand`: EVALSHA, falling back to EVAL on NOSCRIPT, so a
 * restarted Redis that lost its script cache just gets the script again). `numberOfKeys` fixes how many keys
 * every call passes; `'varies'` lets each call pass its own number.
 */
export function defineScript(client: Redis, name: string, lua: string, numberOfKeys: number | 'varies'): RedisScript {
  if (numberOfKeys === 'varies') client.defineCommand(name, { lua });
  else client.defineCommand(name, { lua, numberOfKeys });
  // defineCommand adds a method named `name`; reach it without widening the client's type.
  const method = (client as unknown as Record<string, unknown>)[name];
  if (typeof method !== 'function') throw new Error(`ioredis did not define script command '${name}'`);
  const call = method as (...args: (string | number)[]) => Promise<unknown>;
  return (keys, args) => {
    if (numberOfKeys === 'varies') return call.call(client, keys.length, ...keys, ...args);
    if (keys.length !== numberOfKeys) return Promise.reject(new Error(`script '${name}' takes ${numberOfKeys} keys`));
    return call.call(client, ...keys, ...args);
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


/**
 * The open/closed state every Redis adapter shares: a guard for its verbs (closed, or Redis known to be down:
 * fail fast), and ping and close of its client.
 */
export function clientLifecycle(client: Redis, what: string): { ensureOpen(): void; ping(): Promise<void>; close(): Promise<void> } {
  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new Error(`${what} is closed`);
    ensureReachable(client);
  };
  return {
    ensureOpen,
    async ping() {
      ensureOpen();
      await pingRedis(client);
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeRedisClient(client);
    },
  };
}
