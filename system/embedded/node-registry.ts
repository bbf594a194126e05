/**
 * The embedded NodeRegistry: entries in a Map inside this process, expired by the clock (`now`, default
 * Date.now). In embedded mode the only node is this one; the adapter exists so both modes serve the same
 * admin views.
 */
import { checkTtl, NodeInfoSchema, type NodeRecord, type NodeRegistry } from '../ports/node-registry.js';

/** Settings of the in-memory registry. */
export interface MemoryNodeRegistryOptions {
  /** The clock, epoch ms; tests may move it. */
  now?: () => number;
}

/** Creates an in-memory NodeRegistry. */
export function createMemoryNodeRegistry(options: MemoryNodeRegistryOptions = {}): NodeRegistry {
  const now = options.now ?? Date.now;
  const nodes = new Map<string, { record: NodeRecord; expiresAtMs: number }>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new Error('node registry is closed');
  };
  const sweep = (at: number): void => {
    for (const [id, entry] of nodes) if (entry.expiresAtMs <= at) nodes.delete(id);
  };

  return {
    async heartbeat(info, ttlMs) {
      ensureOpen();
      const parsed = NodeInfoSchema.parse(info);
      checkTtl(ttlMs);
      const at = now();
      nodes.set(parsed.nodeId, { record: { ...parsed, lastSeen: new Date(at).toISOString() }, expiresAtMs: at + ttlMs });
    },
    async list() {
      ensureOpen();
      sweep(now());
      return [...nodes.values()]
        .map((entry) => structuredClone(entry.record))
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    },
    async remove(nodeId) {
      ensureOpen();
      sweep(now());
      return nodes.delete(nodeId);
    },
    async ping() {
      ensureOpen();
    },
    async close() {
      closed = true;
      nodes.clear();
    },
  };
}
