import { pino } from 'pino';
import { loadConfig } from '../../system/config.js';
import { startNode, type NodeOptions, type RunningNode } from '../../system/node.js';
import { readSse, type SseMessage } from './sse-client.js';
import { bypassRateLimits, login, sessionApi, TEST_ADMIN, type Session } from './session.js';
import { createTempDir, type TempDir } from './temp-dir.js';

/** A node running in this test process on a free port with its own DATA_DIR. */
export interface TestNode {
  node: RunningNode;
  dir: TempDir;
  base: string;
  /** The signed-in admin session every helper below uses. */
  session: Session;
  /** JSON request to /api/v1; returns status, headers and parsed body. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<{ status: number; body: any; headers: Headers }>;
  /** Submits a script and returns its execution id (asserting 200). */
  submit(script: string, lang?: string, version?: string, headers?: Record<string, string>): Promise<string>;
  /** Reads an execution's SSE stream until the server closes it. */
  stream(id: string, headers?: Record<string, string>, timeoutMs?: number): Promise<SseMessage[]>;
  /** Submits and waits for the final result. */
  run(script: string, lang?: string, version?: string): Promise<any>;
  stop(): Promise<void>;
}

/** Starts a node with the given environment overrides (port 0, quiet logs, temp DATA_DIR). */
export async function startTestNode(env: Record<string, string> = {}, nodeOptions: Omit<NodeOptions, 'log'> = {}): Promise<TestNode> {
  const dir = await createTempDir('integr8s-node-');
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: dir.path,
    LOG_LEVEL: 'silent',
    ADMIN_USERNAME: TEST_ADMIN.username,
    ADMIN_PASSWORD: TEST_ADMIN.password,
    ...env,
  });
  const node = await startNode(config, { ...nodeOptions, log: pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' }) });
  const base = `http://127.0.0.1:${node.port}/api/v1`;
  const versions = new Map(node.sandbox.runtimes.list().map((r) => [r.lang, r.versions[0]!]));
  const session = await login(base, TEST_ADMIN.username, TEST_ADMIN.password);
  await bypassRateLimits(base, session, session.userId);

  const api: TestNode['api'] = sessionApi(base, session);
  const submit: TestNode['submit'] = async (script, lang = 'python', version, headers = {}) => {
    const res = await api('/execute', { method: 'POST', json: { script, lang, lang_version: version ?? versions.get(lang as never) }, headers });
    if (res.status !== 200) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.execution_id as string;
  };
  const stream: TestNode['stream'] = async (id, headers = {}, timeoutMs = 30_000) =>
    (await readSse(`${base}/events/executions/${id}`, { headers: { ...session.headers(), ...headers }, timeoutMs })).messages;
  const run: TestNode['run'] = async (script, lang, version) => {
    const id = await submit(script, lang, version);
    await stream(id);
    return (await api(`/executions/${id}/result`)).body;
  };
  return {
    node,
    dir,
    base,
    session,
    api,
    submit,
    stream,
    run,
    stop: async () => {
      await node.stop();
      await dir.cleanup();
    },
  };
}
