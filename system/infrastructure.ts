/**
 * The adapters behind the ports, chosen by mode. Embedded: SQLite store and event log under DATA_DIR, an
 * in-process bus, counters, semaphore and registry in memory. Cluster (KAFKA_BROKERS, MONGO_URL and REDIS_URL
 * set): Kafka event log, MongoDB store, Redis bus, counters, semaphore and node registry, shared by every node.
 * Everything above this module sees only the ports.
 */
import { mkdirSync } from 'node:fs';
import { createKafkaEventLog } from '../bridges/kafka/event-log.js';
import { createMongoDocumentStore } from '../bridges/mongo/document-store.js';
import { createRedisSemaphore } from '../bridges/redis/concurrency-semaphore.js';
import { createRedisBus } from '../bridges/redis/fanout-bus.js';
import { createRedisIdempotencyKeys } from '../bridges/redis/idempotency-keys.js';
import { createRedisNodeRegistry } from '../bridges/redis/node-registry.js';
import { createRedisRateLimitStore } from '../bridges/redis/rate-limit-store.js';
import type { Config } from './config.js';
import { createMemorySemaphore } from './embedded/concurrency-semaphore.js';
import { createSqliteDocumentStore } from './embedded/document-store.js';
import { createSqliteEventLog } from './embedded/event-log.js';
import { createInProcessBus } from './embedded/fanout-bus.js';
import { createMemoryNodeRegistry } from './embedded/node-registry.js';
import { createMemoryRateLimitStore } from './embedded/rate-limit-store.js';
import { openDataDir } from './embedded/sqlite.js';
import type { Logger } from './log.js';
import type { ConcurrencySemaphore } from './ports/concurrency-semaphore.js';
import type { DocumentStore } from './ports/document-store.js';
import type { EventLog } from './ports/event-log.js';
import type { FanoutBus } from './ports/fanout-bus.js';
import type { IdempotencyKeys } from './ports/idempotency-keys.js';
import type { NodeRegistry } from './ports/node-registry.js';
import type { RateLimitStore } from './ports/rate-limit-store.js';
import { IdempotencyStore } from './stores/idempotency-store.js';
import { tracedDocumentStore } from './telemetry/traced-store.js';

/** The node's view of shared state, whichever mode it runs in. */
export interface Infrastructure {
  mode: 'embedded' | 'cluster';
  store: DocumentStore;
  eventLog: EventLog;
  bus: FanoutBus;
  counters: RateLimitStore;
  semaphore: ConcurrencySemaphore;
  registry: NodeRegistry;
  /** Idempotency keys of POST /execute: the document store in embedded mode, Redis in a cluster. */
  idempotency: IdempotencyKeys;
  /** Closes every connection, the store last (others may still be flushing into it). */
  close(): Promise<void>;
}

export interface InfrastructureOptions {
  log: Logger;
  /** Test seam: wraps the document store, e.g. to inject storage faults. */
  decorateStore?: (store: DocumentStore) => DocumentStore;
}

/** Opens the adapters for the configured mode. */
export function openInfrastructure(config: Config, opts: InfrastructureOptions): Infrastructure {
  const parts = config.cluster ? openCluster(config, opts.log) : openEmbedded(config);
  const traced = tracedDocumentStore(parts.store, parts.mode === 'cluster' ? 'mongodb' : 'sqlite');
  const store = opts.decorateStore ? opts.decorateStore(traced) : traced;
  const { idempotencyFor: _i, closeIdempotency: _c, ...shared } = parts;
  return {
    ...shared,
    store,
    idempotency: parts.idempotencyFor(store),
    async close() {
      const results = await Promise.allSettled([
        parts.eventLog.close(),
        parts.bus.close(),
        parts.counters.close(),
        parts.semaphore.close(),
        parts.registry.close(),
        parts.closeIdempotency(),
      ]);
      await store.close();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

type Parts = Omit<Infrastructure, 'close' | 'idempotency'> & {
  /** Built on the (possibly decorated) store in embedded mode, so it is made once the store is known. */
  idempotencyFor(store: DocumentStore): IdempotencyKeys;
  closeIdempotency(): Promise<void>;
};

function openEmbedded(config: Config): Parts {
  mkdirSync(config.dataDir, { recursive: true });
  const db = openDataDir(config.dataDir);
  return {
    mode: 'embedded',
    store: createSqliteDocumentStore(db),
    eventLog: createSqliteEventLog(db, { partitions: config.partitions }),
    bus: createInProcessBus(),
    counters: createMemoryRateLimitStore(),
    semaphore: createMemorySemaphore(),
    registry: createMemoryNodeRegistry(),
    idempotencyFor: (store) => new IdempotencyStore(store),
    closeIdempotency: async () => undefined,
  };
}

function openCluster(config: Config, log: Logger): Parts {
  const cluster = config.cluster!;
  const name = config.nodeId;
  const logger = log.child({ component: 'infrastructure' });
  const prefix = `${cluster.namespace || 'integr8s'}:`;
  const redis = { url: cluster.redisUrl, name, logger, keyPrefix: prefix };
  const idempotency = createRedisIdempotencyKeys(redis);
  return {
    mode: 'cluster',
    store: createMongoDocumentStore({ url: cluster.mongoUrl, database: cluster.mongoDb, logger }),
    eventLog: createKafkaEventLog({
      brokers: cluster.kafkaBrokers,
      clientId: name,
      namespace: cluster.namespace,
      partitions: config.partitions,
      consumer: { sessionTimeoutMs: cluster.kafkaSessionTimeoutMs },
      logger,
    }),
    bus: createRedisBus({ url: cluster.redisUrl, name, logger, channelPrefix: `${prefix}fanout:` }),
    counters: createRedisRateLimitStore(redis),
    semaphore: createRedisSemaphore(redis),
    registry: createRedisNodeRegistry(redis),
    idempotencyFor: () => idempotency,
    closeIdempotency: () => idempotency.close(),
  };
}
