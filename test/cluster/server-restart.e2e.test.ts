/**
 * Kafka, then Redis, restarted in the middle of a run, on a private broker and Redis of this test (the shared
 * ones serve other suites): accepted work is not lost, nothing runs twice, and the nodes recover on their own.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { createTempDir, type TempDir } from '../support/temp-dir.js';
import { delay, waitFor } from '../support/wait.js';
import { expectExactlyOnce, submit, TERMINAL } from './checks.js';

const run = promisify(execFile);
const sharedRoot = process.env['INTEGR8S_LOCAL_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'integr8s-local');
let privateDir: TempDir;
let cluster: TestCluster | undefined;

/** Runs a deploy/local script against this test's private state (the Kafka jars come from the shared cache). */
async function local(script: string, ...args: string[]): Promise<string> {
  const env = { ...process.env, INTEGR8S_LOCAL_DIR: privateDir.path, KAFKA_CACHE_DIR: join(sharedRoot, 'kafka', 'cache') };
  const { stdout } = await run(`deploy/local/${script}`, args, { env, timeout: 600_000 });
  return stdout;
}

const value = (out: string, name: string) => out.split('\n').find((l) => l.startsWith(`${name}=`))!.slice(name.length + 1).trim();

beforeAll(async () => {
  privateDir = await createTempDir('integr8s-private-servers-');
  const kafkaBrokers = value(await local('kafka/start'), 'KAFKA_BROKERS');
  const redisUrl = value(await local('redis/start'), 'REDIS_URL');
  cluster = await startCluster({ nodes: 2, env: { MAX_CONCURRENT_EXECUTIONS: '4' }, servers: { kafkaBrokers, redisUrl } });
  await cluster.balanced(2);
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  await local('kafka/stop', '--wipe').catch(() => '');
  await local('redis/stop', '--wipe').catch(() => '');
  await privateDir?.cleanup();
}, 120_000);

/** Submits through every node in turn; a refusal (5xx while a server is down) is counted, not accepted. */
async function submitSome(c: TestCluster, n: number, label: string, accepted: string[]): Promise<number> {
  let refused = 0;
  for (let i = 0; i < n; i++) {
    try {
      accepted.push(await submit(c, c.nodes[i % c.nodes.length]!, `import time\ntime.sleep(0.3)\nprint("${label} ${i}")`));
    } catch {
      refused++;
    }
  }
  return refused;
}

async function allFinished(c: TestCluster, ids: string[], timeoutMs: number): Promise<void> {
  let statuses: string[] = [];
  await waitFor(
    async () => {
      statuses = await Promise.all(ids.map(async (id) => (await c.api(c.nodes[0]!, `/executions/${id}/result`)).body.status));
      return statuses.every((s) => TERMINAL.has(s));
    },
    { timeoutMs, intervalMs: 1_000, message: `${ids.length} accepted executions to finish` },
  ).catch((err: unknown) => {
    const stuck = ids.map((id, i) => `${id} ${statuses[i]}`).filter((line) => !TERMINAL.has(line.split(' ')[1]!));
    const logs = c.nodes.map((n) => `--- ${n.nodeId}\n${n.output.slice(-25).join('\n')}`).join('\n');
    throw new Error(`${String(err)}\nunfinished:\n${stuck.join('\n')}\n${logs}`);
  });
  const results = await Promise.all(ids.map(async (id) => (await c.api(c.nodes[1]!, `/executions/${id}/result`)).body));
  for (const r of results) expect(r.status, JSON.stringify(r).slice(0, 400)).toBe('completed');
  await expectExactlyOnce(c, ids);
}

describe('servers restarted mid-run', () => {
  it('Kafka restart: accepted executions before, during and after the outage all finish exactly once', async () => {
    const c = cluster!;
    const accepted: string[] = [];
    await submitSome(c, 8, 'before', accepted);
    await local('kafka/stop');
    const refused = await submitSome(c, 4, 'during', accepted);
    await delay(2_000);
    await local('kafka/start');
    await submitSome(c, 4, 'after', accepted);
    console.log(`kafka restart: ${accepted.length} accepted, ${refused} refused while the broker was down`);
    await allFinished(c, accepted, 240_000);
  }, 420_000);

  it('Redis restart: accepted executions finish exactly once and live streams work again', async () => {
    const c = cluster!;
    const accepted: string[] = [];
    await submitSome(c, 6, 'before-redis', accepted);
    await local('redis/stop');
    const refused = await submitSome(c, 4, 'during-redis', accepted);
    await delay(2_000);
    await local('redis/start');
    await submitSome(c, 4, 'after-redis', accepted);
    console.log(`redis restart: ${accepted.length} accepted, ${refused} refused while Redis was down`);
    await allFinished(c, accepted, 240_000);
    // The bus is back: a fresh execution's SSE stream on the other node ends with its stored result.
    const id = await submit(c, c.nodes[0]!, 'print("bus is back")');
    const res = await fetch(`${c.nodes[1]!.base}/events/executions/${id}`, { headers: { ...c.session.headers(), accept: 'text/event-stream' } });
    const text = await res.text();
    expect(text).toContain('result_stored');
    expect(text).toContain('bus is back');
  }, 420_000);
});
