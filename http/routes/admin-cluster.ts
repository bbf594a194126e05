import { z } from 'zod';
import type { ActorDetail, ActorNode } from '../../actors/supervision/actor-tree.js';
import type { ExecutionActorsView } from '../../system/cluster/cluster-view.js';
import { NodeRecordSchema, type NodeRecord } from '../../system/ports/node-registry.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import { pathParam } from './params.js';
import type { RouteGroup } from '../server.js';

const tag = 'admin-cluster';

const ClusterNodeSchema = NodeRecordSchema.extend({ uptime_seconds: z.number().int().nonnegative() });

/** What the cluster view answers: the mode, the node that answered, and every live node. */
export const ClusterViewSchema = z.object({
  mode: z.enum(['embedded', 'cluster']),
  answered_by: z.string(),
  nodes: z.array(ClusterNodeSchema),
});
export type ClusterViewBody = z.infer<typeof ClusterViewSchema>;

const ActorNodeSchema: z.ZodType<ActorNode> = z.lazy(() =>
  z.object({ name: z.string(), kind: z.string(), mailbox: z.number(), busy: z.boolean(), children: z.array(ActorNodeSchema) }),
);
const ActorDetailSchema: z.ZodType<ActorDetail> = z.object({
  path: z.string(),
  name: z.string(),
  kind: z.string(),
  mailbox: z.number(),
  busy: z.boolean(),
  state: z.unknown(),
});
const NodeActorsSchema = z.object({ node_id: z.string(), tree: ActorNodeSchema });
const ExecutionActorsSchema: z.ZodType<ExecutionActorsView> = z.object({
  execution_id: z.string(),
  status: z.string(),
  partition: z.number().int(),
  node_id: z.string().nullable(),
  hosted: z.boolean(),
  actors: z.array(ActorDetailSchema),
});
const ExecutionActorsQuery = z.object({ execution_id: z.string().min(1).max(200) });

export interface AdminClusterDeps {
  mode: 'embedded' | 'cluster';
  nodeId: string;
  /** The live nodes from the registry. */
  nodes(): Promise<NodeRecord[]>;
  /** The actor tree of a node (asked of it when it is another one). */
  nodeTree(nodeId: string): Promise<ActorNode>;
  /** One execution's actors, asked of the node that owns its partition. */
  executionActors(executionId: string): Promise<ExecutionActorsView>;
  /** How often the stream looks for changes; default 2 s (the heartbeat period). */
  streamEveryMs?: number;
}

/**
 * The admin view of the cluster (role admin): nodes with their partitions, uptime, actors and mailbox depths by
 * kind, restarts and recent crashes; one node's actor tree; one execution's actors with their states; and the
 * node list as an SSE stream of changes.
 */
export function adminClusterRoutes(deps: AdminClusterDeps): RouteGroup {
  const view = async (): Promise<ClusterViewBody> => {
    const now = Date.now();
    const nodes = (await deps.nodes()).map((n) => ({ ...n, uptime_seconds: Math.max(0, Math.floor((now - Date.parse(n.startedAt)) / 1000)) }));
    return { mode: deps.mode, answered_by: deps.nodeId, nodes };
  };
  return (router, { sse, log }) => {
    router.get(
      '/api/v1/admin/cluster/nodes',
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await view());
      },
      { summary: 'Live nodes: partitions, uptime, actors and mailbox depths by kind, restarts, recent crashes', tag, auth: 'admin', response: ClusterViewSchema },
    );

    router.get(
      '/api/v1/admin/cluster/nodes/{id}/actors',
      async (ctx) => {
        requireAdmin(ctx);
        const nodeId = pathParam(ctx, 'id');
        ctx.json(200, { node_id: nodeId, tree: await deps.nodeTree(nodeId) });
      },
      { summary: "A node's actor tree with mailbox depths (asked of that node)", tag, auth: 'admin', response: NodeActorsSchema },
    );

    router.get(
      '/api/v1/admin/cluster/actors',
      async (ctx) => {
        requireAdmin(ctx);
        const query = parseInput(ExecutionActorsQuery, { execution_id: ctx.query.get('execution_id') ?? undefined });
        ctx.json(200, await deps.executionActors(query.execution_id));
      },
      { summary: "The current state of one execution's actors, asked of the node that owns it", tag, auth: 'admin', query: ExecutionActorsQuery, response: ExecutionActorsSchema },
    );

    router.get(
      '/api/v1/admin/cluster/stream',
      async (ctx) => {
        requireAdmin(ctx);
        const stream = sse.open(ctx);
        let last = '';
        let timer: NodeJS.Timeout | undefined;
        const push = async () => {
          try {
            const body = await view();
            // Only what changes matters: lastSeen and uptime move on every beat.
            const shape = JSON.stringify(body.nodes.map(({ lastSeen: _seen, uptime_seconds: _up, ...rest }) => rest));
            if (shape !== last) {
              last = shape;
              stream.send({ event: 'cluster', data: JSON.stringify(body) });
            }
          } catch (err) {
            log.warn({ err }, 'cluster stream could not read the registry');
          }
          timer = setTimeout(() => void push(), deps.streamEveryMs ?? 2_000);
          timer.unref();
        };
        stream.onClosed(() => clearTimeout(timer));
        stream.commit();
        await push();
      },
      { summary: 'The cluster view as SSE (event `cluster`), sent again whenever nodes, partitions, actors or crashes change', tag, auth: 'admin', stream: true },
    );
  };
}
