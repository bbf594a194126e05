/**
 * Who is in the cluster: every node announces itself with heartbeats, admins list the live ones. In memory
 * in embedded mode (the list is this node), Redis in cluster mode (one key per node that expires unless
 * renewed). A node missing `ttlMs` after its last heartbeat is gone from the list; nothing else decides
 * membership (partition ownership is Kafka's), so this is for visibility, not coordination.
 */
import { z } from 'zod';

/** What a node says about itself in each heartbeat. Unknown fields are dropped. */
export const NodeInfoSchema = z.object({
  /** Unique per running process (a restarted node may reuse its id; its entry is then replaced). */
  nodeId: z.string().min(1).max(200),
  /** Where the node's HTTP API answers, e.g. `http://10.0.0.7:8080`. */
  address: z.url({ protocol: /^https?$/ }),
  /** When the process started, ISO 8601. */
  startedAt: z.iso.datetime({ offset: true }),
  /** Event-log partitions the node owns right now. */
  partitions: z.array(z.number().int().nonnegative()),
  /** Live actors by kind, e.g. `{ execution: 12, sse: 40 }`. */
  actors: z.record(z.string(), z.number().int().nonnegative()),
  /** The program's version. */
  version: z.string().max(100).optional(),
  /** Messages waiting in the mailboxes of each kind of actor. */
  mailboxes: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Actor restarts since the node started, and the latest crashes. */
  restarts: z.number().int().nonnegative().optional(),
  crashes: z.array(z.object({ path: z.string(), error: z.string().max(2000), at: z.string(), decision: z.string() })).max(20).optional(),
});
export type NodeInfo = z.infer<typeof NodeInfoSchema>;

/** A listed node: what it last said and when (ISO 8601, the heartbeat's time by the sender's clock). */
export const NodeRecordSchema = NodeInfoSchema.extend({ lastSeen: z.iso.datetime({ offset: true }) });
export type NodeRecord = z.infer<typeof NodeRecordSchema>;

/** The cluster's membership list. */
export interface NodeRegistry {
  /**
   * Announces (or re-announces) a node, which stays listed for `ttlMs` unless it beats again. Replaces what
   * the node said before. Rejects (ZodError, RangeError) on invalid info or ttl.
   */
  heartbeat(info: NodeInfo, ttlMs: number): Promise<void>;
  /** The nodes whose last heartbeat has not expired, ordered by nodeId. */
  list(): Promise<NodeRecord[]>;
  /** Drops a node at once (a clean shutdown); resolves true when it was listed. */
  remove(nodeId: string): Promise<boolean>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Throws a RangeError unless `ttlMs` is a usable heartbeat lifetime. */
export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`invalid heartbeat ttl ${ttlMs} ms`);
}
