/**
 * The Redis NodeRegistry (cluster mode). Layout under `keyPrefix` (default `integr8s:`):
 * - `{nodes}:<nodeId>`: the node's record as JSON, SET with PX = the heartbeat's ttl, so Redis forgets a node
 *   that stops beating by itself;
 * - `{nodes}`: the set of node ids, so listing never scans the keyspace. Ids whose key has expired are pruned
 *   by `list`, atomically with a check that the key is still gone (a heartbeat racing the prune wins).
 * The `{nodes}` hash tag keeps every key in one Redis Cluster slot; scripts declare all the keys they touch.
 * Records read back are validated with zod; one that does not parse is skipped and logged, not returned.
 */
import { z } from 'zod';
import { checkTtl, NodeInfoSchema, NodeRecordSchema, type NodeRecord, type NodeRegistry } from '../../system/ports/node-registry.js';
import { createRedisClient, defineScript, type RedisLogger, clientLifecycle } from './connection.js';

/** Settings of the Redis registry. */
export interface RedisNodeRegistryOptions {
  url: string;
  /** Prepended to every key; default `integr8s:`. */
  keyPrefix?: string;
  logger?: RedisLogger;
  /** Passed to connection.ts; default 2. */
  maxRetriesPerRequest?: number;
  /** Name of this node in `CLIENT LIST`. */
  name?: string;
  /** The clock for `lastSeen`, epoch ms; default Date.now. */
  now?: () => number;
}

/** KEYS: node key, id set. ARGV: record JSON, ttl ms, node id. */
const HEARTBEAT = `
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

/** KEYS: id set, then one node key per ARGV id. Removes the ids whose key is (still) missing. */
const PRUNE = `
local pruned = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then pruned = pruned + redis.call('SREM', KEYS[1], ARGV[i]) end
end
return pruned
`;

/** KEYS: node key, id set. ARGV: node id. Returns 1 when the node was listed. */
const REMOVE = `
local existed = redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return existed
`;

const Values = z.array(z.string().nullable());

/** Creates a NodeRegistry over Redis. */
export function createRedisNodeRegistry(options: RedisNodeRegistryOptions): NodeRegistry {
  const base = `${options.keyPrefix ?? 'integr8s:'}{nodes}`;
  const logger = options.logger;
  const now = options.now ?? Date.now;
  const client = createRedisClient({
    url: options.url,
    name: `${options.name ?? 'integr8s'}:node-registry`,
    logger,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
  });
  const heartbeatScript = defineScript(client, 'integr8sNodeHeartbeat', HEARTBEAT, 2);
  const removeScript = defineScript(client, 'integr8sNodeRemove', REMOVE, 2);
  const pruneScript = defineScript(client, 'integr8sNodePrune', PRUNE, 'varies');
  const lifecycle = clientLifecycle(client, 'node registry');
  const { ensureOpen } = lifecycle;
  const nodeKey = (nodeId: string): string => `${base}:${encodeURIComponent(nodeId)}`;

  async function prune(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await pruneScript([base, ...ids.map(nodeKey)], ids);
  }

  function parse(json: string, nodeId: string): NodeRecord | undefined {
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = undefined;
    }
    const result = NodeRecordSchema.safeParse(value);
    if (result.success && result.data.nodeId === nodeId) return result.data;
    logger?.warn({ nodeId }, 'node registry: skipping an unreadable record');
    return undefined;
  }

  return {
    async heartbeat(info, ttlMs) {
      ensureOpen();
      const parsed = NodeInfoSchema.parse(info);
      checkTtl(ttlMs);
      const record: NodeRecord = { ...parsed, lastSeen: new Date(now()).toISOString() };
      await heartbeatScript([nodeKey(parsed.nodeId), base], [JSON.stringify(record), ttlMs, parsed.nodeId]);
    },
    async list() {
      ensureOpen();
      const ids = z.array(z.string()).parse(await client.smembers(base)).sort();
      if (ids.length === 0) return [];
      const values = Values.parse(await client.mget(ids.map(nodeKey)));
      const records: NodeRecord[] = [];
      const missing: string[] = [];
      ids.forEach((id, i) => {
        const json = values[i];
        if (json === null || json === undefined) {
          missing.push(id);
          return;
        }
        const record = parse(json, id);
        if (record) records.push(record);
      });
      // Pruning is housekeeping: a failure here must not fail the listing.
      await prune(missing).catch((error: unknown) => logger?.warn({ err: String(error) }, 'node registry: prune failed'));
      return records;
    },
    async remove(nodeId) {
      ensureOpen();
      return z.number().parse(await removeScript([nodeKey(nodeId), base], [nodeId])) > 0;
    },
    ping: lifecycle.ping,
    close: lifecycle.close,
  };
}
