/**
 * A cluster of real node processes (`system/main.ts`) on loopback, sharing the real Kafka, MongoDB-wire and
 * Redis servers from the harness (test/support/infra.ts). Each cluster gets its own namespace, so clusters
 * of parallel test files never share topics, consumer groups, keys or a database. Nodes can be killed
 * (SIGKILL) and added while the others run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { kafkaBrokers, mongoUrl, redisUrl } from './infra.js';
import { bypassRateLimits, login, sessionApi, TEST_ADMIN, type ApiAnswer, type Session } from './session.js';
import { createTempDir, type TempDir } from './temp-dir.js';
import { waitFor } from './wait.js';

export interface ClusterNode {
  nodeId: string;
  port: number;
  base: string;
  process: ChildProcess;
  dir: TempDir;
  /** Output lines, for failure messages. */
  output: string[];
  exited: Promise<number | null>;
}

export interface ClusterOptions {
  nodes: number;
  /** Extra environment for every node. */
  env?: Record<string, string>;
  /** Servers to use instead of the shared ones (e.g. a private broker a test restarts). */
  servers?: { kafkaBrokers?: string; mongoUrl?: string; redisUrl?: string };
}

export interface TestCluster {
  namespace: string;
  nodes: ClusterNode[];
  /** The admin session (valid on every node: they share the secret key and the store). */
  session: Session;
  /** Starts one more node and waits until it answers. */
  addNode(): Promise<ClusterNode>;
  /** SIGKILLs a node and waits for the process to end. */
  kill(node: ClusterNode): Promise<void>;
  /** JSON call to /api/v1 on a node, as the admin. */
  api(node: ClusterNode, path: string, init?: RequestInit & { json?: unknown }): Promise<ApiAnswer>;
  /** The live nodes as the registry lists them, asked of `via`. */
  members(via: ClusterNode): Promise<Array<{ nodeId: string; partitions: number[] }>>;
  /** Waits until the live nodes' partitions cover all of them exactly once, each live node owning some. */
  balanced(expectedNodes: number, timeoutMs?: number): Promise<Array<{ nodeId: string; partitions: number[] }>>;
  stop(): Promise<void>;
}

export const CLUSTER_PARTITIONS = 8;

export async function startCluster(options: ClusterOptions): Promise<TestCluster> {
  const given = options.servers ?? {};
  const [brokers, mongo, redis] = await Promise.all([
    given.kafkaBrokers ?? kafkaBrokers(),
    given.mongoUrl ?? mongoUrl(),
    given.redisUrl ?? redisUrl(),
  ]);
  const namespace = `t${randomBytes(5).toString('hex')}`;
  const secret = randomBytes(32).toString('hex');
  const nodes: ClusterNode[] = [];
  let count = 0;

  const boot = async (): Promise<ClusterNode> => {
    const nodeId = `${namespace}-n${++count}`;
    const dir = await createTempDir('integr8s-cluster-');
    const child = spawn(process.execPath, ['--import', 'tsx', 'system/main.ts'], {
      env: {
        ...process.env,
        // Port 0: the node binds a free port and prints it (a port picked here could be taken by then).
        PORT: '0',
        DATA_DIR: dir.path,
        LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
        NODE_ID: nodeId,
        KAFKA_BROKERS: brokers,
        MONGO_URL: mongo,
        REDIS_URL: redis,
        CLUSTER_NAMESPACE: namespace,
        SECRET_KEY: secret,
        EVENT_PARTITIONS: String(CLUSTER_PARTITIONS),
        ADMIN_USERNAME: TEST_ADMIN.username,
        ADMIN_PASSWORD: TEST_ADMIN.password,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      // kafkajs' own warnings (rebalance heartbeats) would push the platform's lines out of the window.
      for (const line of chunk.toString().split('\n')) {
        const listening = /listening on http:\/\/[^/]+:(\d+)\/api\/v1/.exec(line);
        if (listening) {
          node.port = Number(listening[1]);
          node.base = `http://127.0.0.1:${node.port}/api/v1`;
        }
        if (line && !line.includes('"logger":"kafkajs"')) output.push(line);
      }
      if (output.length > 400) output.splice(0, output.length - 400);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const node: ClusterNode = { nodeId, port: 0, base: '', process: child, dir, output, exited };
    nodes.push(node);
    let gone = false;
    void exited.then(() => (gone = true));
    await waitFor(
      async () => {
        if (gone) throw new Error(`node ${nodeId} exited during boot:\n${output.slice(-40).join('\n')}`);
        return node.port !== 0 && (await fetch(`${node.base}/health/live`)).ok;
      },
      { timeoutMs: 90_000, intervalMs: 200, message: `node ${nodeId} to answer` },
    );
    return node;
  };

  // The first node alone creates the admin, so the others find it (they would also cope with the race).
  await boot();
  await Promise.all(Array.from({ length: options.nodes - 1 }, () => boot()));
  const first = nodes[0]!;
  const session = await login(first.base, TEST_ADMIN.username, TEST_ADMIN.password);
  await bypassRateLimits(first.base, session, session.userId);

  const api: TestCluster['api'] = (node, path, init) => sessionApi(node.base, session)(path, init);

  const members: TestCluster['members'] = async (via) => {
    const res = await api(via, '/admin/cluster/nodes');
    if (res.status !== 200) throw new Error(`cluster view: ${res.status} ${JSON.stringify(res.body)}`);
    return (res.body.nodes as Array<{ nodeId: string; partitions: number[] }>).map((n) => ({ nodeId: n.nodeId, partitions: n.partitions }));
  };

  const alive = () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);

  return {
    namespace,
    nodes,
    session,
    addNode: boot,
    async kill(node) {
      node.process.kill('SIGKILL');
      await node.exited;
    },
    api,
    members,
    async balanced(expectedNodes, timeoutMs = 60_000) {
      return waitFor(
        async () => {
          const via = alive()[0];
          if (!via) throw new Error('no node alive');
          const list = await members(via);
          const live = new Set(alive().map((n) => n.nodeId));
          const current = list.filter((m) => live.has(m.nodeId));
          if (current.length !== expectedNodes || current.some((m) => m.partitions.length === 0)) return null;
          const owned = current.flatMap((m) => m.partitions).sort((a, b) => a - b);
          const all = Array.from({ length: CLUSTER_PARTITIONS }, (_, i) => i);
          return JSON.stringify(owned) === JSON.stringify(all) ? current : null;
        },
        { timeoutMs, intervalMs: 250, message: `${expectedNodes} nodes sharing all ${CLUSTER_PARTITIONS} partitions` },
      );
    },
    async stop() {
      await Promise.all(
        nodes.map(async (node) => {
          if (node.process.exitCode === null && node.process.signalCode === null) {
            node.process.kill('SIGTERM');
            const timer = setTimeout(() => node.process.kill('SIGKILL'), 15_000);
            await node.exited;
            clearTimeout(timer);
          }
          await node.dir.cleanup();
        }),
      );
    },
  };
}
