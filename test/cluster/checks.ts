/** Assertions shared by the cluster suites: submitting, and "every execution finished exactly once". */
import { expect } from 'vitest';
import type { ClusterNode, TestCluster } from '../support/cluster.js';

export const TERMINAL = new Set(['completed', 'failed', 'timeout', 'cancelled', 'error']);
const TERMINAL_EVENTS = new Set(['execution_completed', 'execution_failed', 'execution_timeout', 'execution_cancelled']);

/** Submits a python script through `node`; returns the execution id. */
export async function submit(cluster: TestCluster, node: ClusterNode, script: string): Promise<string> {
  const res = await cluster.api(node, '/execute', { method: 'POST', json: { script, lang: 'python', lang_version: '3.11' } });
  if (res.status !== 200) throw new Error(`submit to ${node.nodeId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.execution_id as string;
}

/** Each execution has one terminal event and one result_stored in the event store, whichever node is asked. */
export async function expectExactlyOnce(cluster: TestCluster, ids: string[]): Promise<void> {
  const via = cluster.nodes.find((n) => n.process.exitCode === null && n.process.signalCode === null)!;
  for (const id of ids) {
    const res = await cluster.api(via, `/executions/${id}/events?limit=1000`);
    expect(res.status).toBe(200);
    const types = (res.body as Array<{ event_type: string }>).map((e) => e.event_type);
    expect(types.filter((t) => TERMINAL_EVENTS.has(t)).length, `terminal events of ${id}: ${types.join(', ')}`).toBe(1);
    expect(types.filter((t) => t === 'result_stored').length, `result_stored of ${id}: ${types.join(', ')}`).toBe(1);
  }
}
