/**
 * The admin's live view of the cluster: what this node says about itself in its heartbeat (actors and mailbox
 * depths by kind, restarts, recent crashes), its actor tree, and the actors of one execution, each answered here
 * or asked of the node that has it (node-rpc.ts), so any node can answer for any other.
 */
import type { Ref } from 'nact';
import { z } from 'zod';
import { actorsNamed, actorTree, totalsByKind, type ActorDetail, type ActorNode } from '../../actors/supervision/actor-tree.js';
import type { CrashLedger } from '../../actors/supervision/policy.js';
import { errors } from '../domain/errors.js';
import { partitionOf } from '../domain/partition.js';
import type { NodeRegistry } from '../ports/node-registry.js';
import type { ExecutionStore } from '../stores/execution-store.js';
import type { NodeRpc } from './node-rpc.js';

/** What a node adds about its actors to its heartbeat. */
export interface ActorFigures {
  actors: Record<string, number>;
  mailboxes: Record<string, number>;
  restarts: number;
  crashes: Array<{ path: string; error: string; at: string; decision: string }>;
}

/** The actors of one execution, on the node that owns its partition. */
export interface ExecutionActorsView {
  execution_id: string;
  status: string;
  partition: number;
  node_id: string | null;
  /** False when no actor is up for it (finished and passivated, or waiting for the partition's next owner). */
  hosted: boolean;
  actors: ActorDetail[];
}

export const NodeQuerySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('tree') }),
  z.object({ kind: z.literal('execution'), executionId: z.string().min(1).max(200) }),
]);
export type NodeQuery = z.infer<typeof NodeQuerySchema>;

export interface ClusterViewDeps {
  nodeId: string;
  partitions: number;
  system: () => Ref<unknown> | undefined;
  crashes: CrashLedger;
  registry: NodeRegistry;
  executions: ExecutionStore;
  rpc: () => NodeRpc;
}

const RECENT_CRASHES = 5;

export function createClusterView(deps: ClusterViewDeps) {
  const tree = (): ActorNode => {
    const system = deps.system();
    const root = system ? actorTree(system, deps.nodeId) : null;
    return root ?? { name: deps.nodeId, kind: 'system', mailbox: 0, busy: false, children: [] };
  };
  const localExecutionActors = (executionId: string): ActorDetail[] => {
    const system = deps.system();
    if (!system) return [];
    return actorsNamed(system, new Set([`execution-${executionId}`, `saga-${executionId}`, `pod-watch-${executionId}`]));
  };

  return {
    /** Live actors and mailbox depths by kind on this node, for the metrics. */
    totals: () => totalsByKind(tree()),

    /** This node's figures for its heartbeat. */
    figures(): ActorFigures {
      const totals = totalsByKind(tree());
      return {
        actors: Object.fromEntries(Object.entries(totals).map(([kind, t]) => [kind, t.count])),
        mailboxes: Object.fromEntries(Object.entries(totals).map(([kind, t]) => [kind, t.mailbox])),
        restarts: deps.crashes.total,
        crashes: deps.crashes.latest().slice(-RECENT_CRASHES).map((c) => ({ ...c })),
      };
    },

    /** Answers another node's question (see NodeQuerySchema). */
    async answer(query: unknown): Promise<unknown> {
      const q = NodeQuerySchema.parse(query);
      return q.kind === 'tree' ? tree() : localExecutionActors(q.executionId);
    },

    /** The actor tree of node `nodeId`; 404 when no such node is live. */
    async nodeTree(nodeId: string): Promise<ActorNode> {
      if (nodeId === deps.nodeId) return tree();
      const nodes = await deps.registry.list();
      if (!nodes.some((n) => n.nodeId === nodeId)) throw errors.notFound('Node');
      return (await deps.rpc().ask(nodeId, { kind: 'tree' } satisfies NodeQuery)) as ActorNode;
    },

    /** The actors of one execution, asked of the node owning its partition; 404 for an unknown execution. */
    async executionActors(executionId: string): Promise<ExecutionActorsView> {
      const record = await deps.executions.get(executionId);
      if (!record) throw errors.notFound('Execution');
      const partition = partitionOf(executionId, deps.partitions);
      const owner = (await deps.registry.list()).find((n) => n.partitions.includes(partition))?.nodeId ?? null;
      let actors: ActorDetail[] = [];
      if (owner === deps.nodeId) actors = localExecutionActors(executionId);
      else if (owner) actors = (await deps.rpc().ask(owner, { kind: 'execution', executionId } satisfies NodeQuery)) as ActorDetail[];
      return { execution_id: executionId, status: record.status, partition, node_id: owner, hosted: actors.length > 0, actors };
    },
  };
}

export type ClusterView = ReturnType<typeof createClusterView>;
