import { z } from 'zod';
import { NodeRecordSchema, type NodeRecord } from '../../system/ports/node-registry.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';

const tag = 'admin-cluster';

/** What the cluster view answers: the mode, the node that answered, and every live node. */
export const ClusterViewSchema = z.object({
  mode: z.enum(['embedded', 'cluster']),
  answered_by: z.string(),
  nodes: z.array(NodeRecordSchema),
});
export type ClusterView = z.infer<typeof ClusterViewSchema>;

export interface ClusterViewDeps {
  mode: 'embedded' | 'cluster';
  nodeId: string;
  /** The live nodes from the registry. */
  nodes(): Promise<NodeRecord[]>;
}

/** The admin view of the cluster (role admin): nodes with the partitions they own and their actor counts. */
export function adminClusterRoutes(deps: ClusterViewDeps): RouteGroup {
  return (router) => {
    router.get(
      '/api/v1/admin/cluster/nodes',
      async (ctx) => {
        requireAdmin(ctx);
        const view: ClusterView = { mode: deps.mode, answered_by: deps.nodeId, nodes: await deps.nodes() };
        ctx.json(200, view);
      },
      { summary: 'Live nodes, their partitions and actor counts', tag, auth: 'admin', response: ClusterViewSchema },
    );
  };
}
