/**
 * Three real node processes on Kafka, a MongoDB-wire server and Redis: work submitted to every node finishes
 * exactly once, and an SSE client on one node gets the result (and the live output) of an execution another node
 * owns, whose stdin it writes through its own node.
 */
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../system/domain/partition.js';
import { CLUSTER_PARTITIONS, startCluster, type TestCluster } from '../support/cluster.js';
import { readSse } from '../support/sse-client.js';
import { Redis } from 'ioredis';
import { kafkaBrokers, redisUrl } from '../support/infra.js';
import { waitFor } from '../support/wait.js';
import { expectExactlyOnce, submit } from './checks.js';

const RUNS = 300;
let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 3, env: { MAX_CONCURRENT_EXECUTIONS: '6' } });
  await cluster.balanced(3);
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('cluster of three nodes', () => {
  it('lists every node with its partitions, from any node', async () => {
    for (const node of cluster.nodes) {
      const res = await cluster.api(node, '/admin/cluster/nodes');
      expect(res.status).toBe(200);
      expect(res.body.mode).toBe('cluster');
      expect(res.body.answered_by).toBe(node.nodeId);
      expect(res.body.nodes.map((n: { nodeId: string }) => n.nodeId).sort()).toEqual(cluster.nodes.map((n) => n.nodeId).sort());
    }
  });

  it(`runs ${RUNS} executions submitted round-robin to all nodes, each exactly once`, async () => {
    // Ten submissions in flight at a time, as ten clients would send them; ids[i] is the run printing i * 2.
    const ids: string[] = new Array<string>(RUNS);
    for (let first = 0; first < RUNS; first += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, RUNS - first) }, async (_, k) => {
          const i = first + k;
          ids[i] = await submit(cluster, cluster.nodes[i % cluster.nodes.length]!, `print(${i} * 2)`);
        }),
      );
    }
    // One cheap count per poll (the store is shared): how many of the caller's executions are still unfinished.
    let unfinished: number[] = [];
    await waitFor(
      async () => {
        unfinished = await Promise.all(
          ['queued', 'scheduled', 'running'].map(async (status) => (await cluster.api(cluster.nodes[0]!, `/user/executions?status=${status}&limit=1`)).body.total as number),
        );
        return unfinished.every((n) => n === 0);
      },
      { timeoutMs: 420_000, intervalMs: 1_000, message: `${RUNS} executions to finish` },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; still queued/scheduled/running: ${unfinished.join('/')}`);
    });
    const results = await Promise.all(ids.map(async (id, i) => (await cluster.api(cluster.nodes[(i + 1) % 3]!, `/executions/${id}/result`)).body));
    results.forEach((r, i) => {
      expect(r.status, `execution ${ids[i]}`).toBe('completed');
      expect(r.stdout).toBe(`${i * 2}\n`);
    });
    await expectExactlyOnce(cluster, ids);
    // Submitting takes up to ~2 minutes on a loaded 2-core machine; the wait above then has its own limit and says
    // what is left unfinished, before this one cuts the test short without a word.
  }, 600_000);

  it("delivers an execution's result to an SSE client on a node that does not own it", async () => {
    const members = await cluster.members(cluster.nodes[0]!);
    const owner = new Map<number, string>();
    for (const m of members) for (const p of m.partitions) owner.set(p, m.nodeId);
    const watcher = cluster.nodes[0]!;
    // Submit through a third node until the execution lands on a partition the watcher does not own.
    let id = '';
    for (let i = 0; i < 50 && !id; i++) {
      const candidate = await submit(cluster, cluster.nodes[1]!, 'import time\ntime.sleep(0.5)\nprint("far away")');
      const ownerId = owner.get(partitionOf(candidate, CLUSTER_PARTITIONS));
      if (ownerId !== undefined && ownerId !== watcher.nodeId) id = candidate;
    }
    expect(id).not.toBe('');
    const stream = await readSse(`${watcher.base}/events/executions/${id}`, { headers: cluster.session.headers(), timeoutMs: 60_000 });
    expect(stream.closedByServer).toBe(true);
    const last = JSON.parse(stream.messages.at(-1)?.data ?? '{}') as { event_type?: string; result?: { stdout?: string } };
    expect(last.event_type).toBe('result_stored');
    expect(last.result?.stdout).toBe('far away\n');
  }, 120_000);

  it('streams live output to an SSE client on another node and takes its stdin there, for the owner far away', async () => {
    const members = await cluster.members(cluster.nodes[0]!);
    const owner = new Map<number, string>();
    for (const m of members) for (const p of m.partitions) owner.set(p, m.nodeId);
    const watcher = cluster.nodes[0]!;
    const script = 'print("ready")\nprint("echo:", input())\n';
    let id = '';
    for (let i = 0; i < 50 && !id; i++) {
      const res = await cluster.api(cluster.nodes[1]!, '/execute', {
        method: 'POST',
        json: { script, lang: 'python', lang_version: '3.11', interactive: true },
      });
      expect(res.status).toBe(200);
      const candidate = res.body.execution_id as string;
      const ownerId = owner.get(partitionOf(candidate, CLUSTER_PARTITIONS));
      if (ownerId !== undefined && ownerId !== watcher.nodeId) id = candidate;
      else await cluster.api(cluster.nodes[1]!, `/executions/${candidate}/cancel`, { method: 'POST', json: {} });
    }
    expect(id).not.toBe('');
    const frames: Array<{ event_type: string; text?: string; result?: { stdout?: string } }> = [];
    const stream = readSse(`${watcher.base}/events/executions/${id}`, {
      headers: cluster.session.headers(),
      timeoutMs: 60_000,
      onMessage: (m) => frames.push(JSON.parse(m.data) as (typeof frames)[number]),
    });
    // More streams of the same execution on the watcher's node share that node's one Redis subscription.
    const others = Array.from({ length: 4 }, () => readSse(`${watcher.base}/events/executions/${id}`, { headers: cluster.session.headers(), timeoutMs: 60_000 }));
    const output = () => frames.filter((f) => f.event_type === 'execution_output').map((f) => f.text).join('');
    // the program waits for its input: this chunk crossed from the owner to the watcher's node while it ran
    await waitFor(() => output().includes('ready\n'), { timeoutMs: 30_000, message: 'live output from the owning node' });
    const redis = new Redis(await redisUrl(), { lazyConnect: true });
    try {
      await redis.connect();
      const channel = `${cluster.namespace}:fanout:execution:${id}`;
      await waitFor(async () => ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1] === 1, { message: 'one subscriber connection for five streams' });
    } finally {
      redis.disconnect();
    }
    const write = await cluster.api(watcher, `/executions/${id}/stdin`, { method: 'POST', json: { data: 'from afar\n', eof: true } });
    expect(write.status).toBe(200);
    expect((await stream).closedByServer).toBe(true);
    expect(output()).toBe('ready\necho: from afar\n');
    expect(frames.at(-1)).toMatchObject({ event_type: 'result_stored', result: { stdout: 'ready\necho: from afar\n' } });
    for (const other of await Promise.all(others)) {
      expect(other.closedByServer).toBe(true);
      const text = other.messages.map((m) => JSON.parse(m.data) as (typeof frames)[number]).filter((f) => f.event_type === 'execution_output').map((f) => f.text).join('');
      expect(text).toBe('ready\necho: from afar\n');
    }
  }, 120_000);

  it('a poison command lands in the dead-letter topic with its error, and its partition keeps flowing', async () => {
    const kafka = new Kafka({ clientId: 'poison-test', brokers: (await kafkaBrokers()).split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `${cluster.namespace}.poison-reader` });
    const admin = kafka.admin();
    await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
    try {
      const key = 'poison-key';
      const partition = partitionOf(key, CLUSTER_PARTITIONS);
      await producer.send({
        topic: `${cluster.namespace}.execution_commands`,
        messages: [{ key, value: '{"event_type":"execution_requested","not":"an event"}', partition }],
      });
      const dead: Array<{ value: string; headers: Record<string, string> }> = [];
      // Subscribe only once the node created the topic: a subscription would auto-create it with the broker's size.
      const dlq = `${cluster.namespace}.dead_letters`;
      await waitFor(async () => (await admin.listTopics()).includes(dlq), { timeoutMs: 60_000, intervalMs: 250, message: 'the dead-letter topic' });
      await consumer.subscribe({ topic: dlq, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          dead.push({ value: message.value?.toString() ?? '', headers });
        },
      });
      await waitFor(() => dead.some((d) => d.value.includes('an event')), { timeoutMs: 60_000, intervalMs: 200, message: 'the poison message in dead_letters' });
      const letter = dead.find((d) => d.value.includes('an event'))!;
      expect(letter.headers).toMatchObject({ original_topic: 'execution_commands', original_partition: String(partition) });
      expect(letter.headers['error']).toBeTruthy();

      // The dead_letters consumer group stored it once in the shared store: every node's DLQ API shows it.
      const stored = await waitFor(
        async () => {
          const found = (await cluster.api(cluster.nodes[2]!, '/admin/dlq/messages?topic=execution_commands')).body.messages.filter((m: { key: string }) => m.key === key);
          return found.length > 0 ? found : null;
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'the poison command in the DLQ API of another node' },
      );
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({
        original_topic: 'execution_commands',
        original_partition: partition,
        consumer_group: 'execution-owners',
        status: 'pending',
        payload: '{"event_type":"execution_requested","not":"an event"}',
      });
      expect(stored[0].error).toBe(letter.headers['error']);
      const fromFirst = await cluster.api(cluster.nodes[0]!, `/admin/dlq/messages/${stored[0].message_id}`);
      expect(fromFirst.body).toMatchObject({ message_id: stored[0].message_id, original_offset: Number(letter.headers['original_offset']) });

      // The same partition still takes work.
      let id = '';
      for (let i = 0; i < 60 && !id; i++) {
        const candidate = await submit(cluster, cluster.nodes[i % 3]!, 'print("after poison")');
        if (partitionOf(candidate, CLUSTER_PARTITIONS) === partition) id = candidate;
      }
      expect(id).not.toBe('');
      const result = await waitFor(
        async () => {
          const r = (await cluster.api(cluster.nodes[0]!, `/executions/${id}/result`)).body;
          return r.status === 'completed' ? r : null;
        },
        { timeoutMs: 60_000, intervalMs: 200, message: 'an execution in the poisoned partition to finish' },
      );
      expect(result.stdout).toBe('after poison\n');
    } finally {
      await Promise.allSettled([producer.disconnect(), consumer.disconnect(), admin.disconnect()]);
    }
  }, 120_000);

  it("carries the request's trace context in the Kafka headers of the execution's records", async () => {
    const traceId = 'a'.repeat(16) + randomBytes(8).toString('hex');
    const res = await cluster.api(cluster.nodes[1]!, '/execute', {
      method: 'POST',
      json: { script: 'print("traced")', lang: 'python', lang_version: '3.11' },
      headers: { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` },
    });
    expect(res.status).toBe(200);
    const id = res.body.execution_id as string;
    const kafka = new Kafka({ clientId: 'trace-test', brokers: (await kafkaBrokers()).split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${cluster.namespace}.trace-reader` });
    await consumer.connect();
    const seen: Array<{ topic: string; type: string; traceparent: string }> = [];
    try {
      await consumer.subscribe({ topics: [`${cluster.namespace}.execution_commands`, `${cluster.namespace}.execution_events`], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (message.key?.toString() !== id) return;
          const type = String(message.headers?.['event_type'] ?? '');
          seen.push({ topic: topic.slice(cluster.namespace.length + 1), type, traceparent: String(message.headers?.['traceparent'] ?? '') });
        },
      });
      await waitFor(() => seen.some((r) => r.type === 'result_stored'), { timeoutMs: 60_000, intervalMs: 200, message: 'the execution on Kafka' });
    } finally {
      await consumer.disconnect();
    }
    const command = seen.find((r) => r.topic === 'execution_commands');
    expect(command?.traceparent.slice(3, 35)).toBe(traceId);
    // Events the owner published while handling that command continue the same trace.
    const traced = seen.filter((r) => r.topic === 'execution_events' && r.traceparent.slice(3, 35) === traceId).map((r) => r.type);
    expect(traced).toContain('result_stored');
  }, 120_000);

  it("cancels a saga from a node that does not own it: the owner's saga stops the run and releases the slot", async () => {
    const members = await cluster.members(cluster.nodes[0]!);
    const id = await submit(cluster, cluster.nodes[0]!, 'import time\nprint("up", flush=True)\ntime.sleep(60)');
    const owner = members.find((m) => m.partitions.includes(partitionOf(id, CLUSTER_PARTITIONS)))!.nodeId;
    const asker = cluster.nodes.find((n) => n.nodeId !== owner)!;
    const saga = await waitFor(
      async () => {
        const res = await cluster.api(asker, `/sagas/execution/${id}`);
        return res.status === 200 && res.body.current_step === 'await_outcome' ? res.body : null;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'the saga running, seen from another node' },
    );
    expect(saga.state).toBe('running');
    const res = await cluster.api(asker, `/sagas/${saga.saga_id}/cancel`, { method: 'POST' });
    expect(res.status).toBe(200);
    const ended = await waitFor(
      async () => {
        const body = (await cluster.api(asker, `/sagas/${saga.saga_id}`)).body;
        return body.state === 'cancelled' ? body : null;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'the saga cancelled' },
    );
    expect(ended.compensated_steps).toEqual(['stop_sandbox', 'release']);
    expect((await cluster.api(cluster.nodes[0]!, `/executions/${id}/result`)).body.status).toBe('cancelled');
  }, 90_000);

  it('an Idempotency-Key maps to one execution whichever node is asked', async () => {
    const key = `idem-${randomBytes(6).toString('hex')}`;
    const ask = (i: number) =>
      cluster.api(cluster.nodes[i]!, '/execute', { method: 'POST', json: { script: 'print(7)', lang: 'python', lang_version: '3.11' }, headers: { 'Idempotency-Key': key } });
    const first = await ask(0);
    expect(first.status).toBe(200);
    for (const i of [1, 2]) expect((await ask(i)).body.execution_id).toBe(first.body.execution_id);
  });

  it("answers from any node with the actors of an execution another node owns, and with that node's actor tree", async () => {
    const members = await cluster.members(cluster.nodes[0]!);
    const id = await submit(cluster, cluster.nodes[0]!, 'import time\nprint("up", flush=True)\ntime.sleep(3)');
    const owner = members.find((m) => m.partitions.includes(partitionOf(id, CLUSTER_PARTITIONS)))!.nodeId;
    const asker = cluster.nodes.find((n) => n.nodeId !== owner)!;
    const view = await waitFor(
      async () => {
        const body = (await cluster.api(asker, `/admin/cluster/actors?execution_id=${id}`)).body;
        return body.status === 'running' && body.hosted ? body : null;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: 'the execution running, seen from another node' },
    );
    expect(view.node_id).toBe(owner);
    const saga = view.actors.find((a: { kind: string }) => a.kind === 'saga');
    expect(saga.state.status).toBe('running');
    const tree = (await cluster.api(asker, `/admin/cluster/nodes/${owner}/actors`)).body.tree;
    const partitions = tree.children.find((c: { name: string }) => c.name === 'partitions');
    expect(partitions.children.length).toBe(members.find((m) => m.nodeId === owner)!.partitions.length);
  });
});
