/**
 * Tracing across a cluster of three real node processes on Kafka, a MongoDB-wire server and Redis. Every node
 * appends its finished spans to one file (TRACE_SPANS_FILE). The nodes start at sampling ratio 0; an admin sets it
 * to 1 on one node and the others apply it without a restart. Then an execution submitted on node A and owned by
 * node B, watched over SSE on node C, is one connected trace: the HTTP request on A, the publish, the Kafka hop
 * into B's consumer, B's actors, admission and sandbox, Mongo and Redis calls, and C's SSE frame with the result.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import { CLUSTER_PARTITIONS, startCluster, type ClusterNode, type TestCluster } from '../support/cluster.js';
import { readSse } from '../support/sse-client.js';
import { readSpans, traceTree, type SpanLine } from '../support/traces.js';
import { waitFor } from '../support/wait.js';
import { submit } from './checks.js';

const file = join(tmpdir(), `integr8s-cluster-spans-${process.pid}-${Date.now()}.jsonl`);
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, env: { TRACE_SPANS_FILE: file, OTEL_TRACES_SAMPLER_ARG: '0' } });
  await cluster.balanced(3);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(file, { force: true });
}, 60_000);

/** A request that records a server span on `node` when that node samples new traces. */
const probe = (node: ClusterNode) => cluster.api(node, '/user/executions?limit=1');
const serverSpansOn = (node: ClusterNode) => readSpans(file).filter((s) => s.node === node.nodeId && s.kind === 'SERVER');

describe('tracing in a cluster', () => {
  it('samples nothing at ratio 0, and a ratio an admin sets on one node applies on every node', async () => {
    const [a, , c] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    await probe(c);
    expect(serverSpansOn(c)).toEqual([]);
    const put = await cluster.api(a, '/admin/settings/', { method: 'PUT', json: { sampling_rate: 1, enable_tracing: true } });
    expect(put.status).toBe(200);
    // Node C never saw the request: it hears of the change on the bus and reads the stored settings.
    await waitFor(
      async () => {
        await probe(c);
        return serverSpansOn(c).some((s) => s.name === 'GET /api/v1/user/executions');
      },
      { timeoutMs: 15_000, intervalMs: 200, message: `node ${c.nodeId} to sample at the new ratio` },
    );
    expect((await cluster.api(c, '/admin/settings/')).body.sampling_rate).toBe(1);
  }, 60_000);

  it('follows one execution from the HTTP request on A across Kafka to its owner B and to the SSE frame on C', async () => {
    const [a, , ] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const members = await cluster.members(a);
    const owner = new Map<number, string>();
    for (const m of members) for (const p of m.partitions) owner.set(p, m.nodeId);
    // Submit on A until the execution lands on a partition another node owns.
    let id = '';
    let ownerId = '';
    for (let i = 0; i < 50 && !id; i++) {
      const candidate = await submit(cluster, a, 'import time\ntime.sleep(0.3)\nprint("traced")');
      const o = owner.get(partitionOf(candidate, CLUSTER_PARTITIONS));
      if (o !== undefined && o !== a.nodeId) [id, ownerId] = [candidate, o];
    }
    expect(id).not.toBe('');
    const b = cluster.nodes.find((n) => n.nodeId === ownerId)!;
    const c = cluster.nodes.find((n) => n !== a && n !== b)!;
    const stream = await readSse(`${c.base}/events/executions/${id}`, { headers: cluster.session.headers(), timeoutMs: 60_000 });
    const last = JSON.parse(stream.messages.at(-1)?.data ?? '{}') as { event_type?: string; result?: { stdout?: string } };
    expect(last.event_type).toBe('result_stored');
    expect(last.result?.stdout).toBe('traced\n');

    const isFrame = (s: SpanLine) => s.name === 'sse.frame result_stored' && s.attributes['execution.id'] === id;
    const frame = await waitFor(() => readSpans(file).find(isFrame), { timeoutMs: 15_000, message: 'the SSE frame span' });
    expect(frame.node).toBe(c.nodeId);
    // B's last spans may still be on their way to the file when C's frame is written.
    const tree = await waitFor(
      () => {
        const t = traceTree(readSpans(file), frame.trace_id);
        return t.spans.some((s) => s.name === 'execution.finished' && s.node === b.nodeId) ? t : null;
      },
      { timeoutMs: 15_000, message: "the owner's spans in the trace" },
    );

    expect(tree.root).toMatchObject({ name: 'POST /api/v1/execute', kind: 'SERVER', node: a.nodeId });
    const on = (name: string, node: ClusterNode) => {
      const span = tree.spans.find((s) => s.name === name && s.node === node.nodeId);
      expect(span, `${name} on ${node.nodeId}; trace has ${tree.spans.map((s) => `${s.name}@${s.node}`).join(', ')}`).toBeDefined();
      return span!;
    };
    const publish = on('publish execution_requested', a);
    expect(publish.kind).toBe('PRODUCER');
    const consumer = on('process execution_commands', b);
    expect(consumer.kind).toBe('CONSUMER');
    // The Kafka hop: B's consumer span is the child of A's publish span, from the record's traceparent header.
    expect(consumer.parent_span_id).toBe(publish.span_id);
    const hop = ['POST /api/v1/execute', 'publish execution_requested', 'process execution_commands'];
    for (const name of ['admission.wait', 'sandbox.run', 'saga.SandboxExited', 'execution.finished']) {
      expect(tree.pathOf(on(name, b)).slice(0, 3), name).toEqual(hop);
    }
    expect(on('sandbox.run', b).attributes['process.exit_code']).toBe(0);
    // Store calls (MongoDB) on both sides, and Redis calls (the shared concurrency cap) on the owner.
    on('mongodb insert executions', a);
    expect(tree.spans.some((s) => s.name.startsWith('mongodb ') && s.node === b.nodeId)).toBe(true);
    expect(tree.spans.some((s) => s.name.startsWith('redis ') && s.node === b.nodeId)).toBe(true);
    expect(tree.pathOf(frame)).toEqual(['POST /api/v1/execute', 'sse.frame result_stored']);
    expect(new Set(tree.spans.map((s) => s.node))).toEqual(new Set([a.nodeId, b.nodeId, c.nodeId]));
  }, 180_000);
});
