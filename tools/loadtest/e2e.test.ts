/**
 * Each mode for ~3 s against a real node started in this process (embedded mode, real sandbox). User mode goes
 * through the CLI in a child process (options, progress, report files, exit code); the other two call the
 * runner directly. The monkey runs last: its anonymous login/register attempts use up the per-IP auth rate
 * limit (20/min), which the other modes' sign-ups need.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../../test/support/node-harness.js';
import { TEST_ADMIN } from '../../test/support/session.js';
import { parseOptions } from './options.js';
import type { Report } from './report/json.js';
import { runLoadTest } from './runner.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

let node: TestNode;
let target: string;
let reports: string;

beforeAll(async () => {
  node = await startTestNode();
  target = `http://127.0.0.1:${node.node.port}`;
  reports = await mkdtemp(join(tmpdir(), 'loadtest-e2e-'));
});

afterAll(async () => {
  await node?.stop();
  if (reports) await rm(reports, { recursive: true, force: true });
});

const admin = ['--username', TEST_ADMIN.username, '--password', TEST_ADMIN.password];

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'cli.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function has5xx(report: Report): string[] {
  return report.endpoints.filter((e) => Object.keys(e.status_codes).some((c) => c.startsWith('5'))).map((e) => `${e.method} ${e.route} ${JSON.stringify(e.status_codes)}`);
}

describe('loadtest against a real node', () => {
  it('user mode (CLI): users sign up, run code over SSE, CRUD scripts, settings, notifications', async () => {
    const dir = join(reports, 'user');
    const res = await runCli(['user', '--target', target, '--clients', '3', '--duration', '3', '--think-time', '50', '--report-dir', dir, ...admin]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/user against http:\/\/127\.0\.0\.1:\d+: 3\.\d s/);
    expect(res.stderr).toMatch(/req \d+ {2}err 0/); // progress lines (stderr is not a TTY here)
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as Report;
    expect(report.summary.errors).toBe(0);
    expect(report.summary.requests).toBeGreaterThan(20);
    const routes = report.endpoints.map((e) => `${e.method} ${e.route}`);
    for (const r of [
      'POST /api/v1/auth/register',
      'POST /api/v1/auth/login',
      'POST /api/v1/execute',
      'GET /api/v1/events/executions/{id}',
      'GET /api/v1/executions/{id}/result',
      'POST /api/v1/scripts',
      'PUT /api/v1/scripts/{id}',
      'DELETE /api/v1/scripts/{id}',
      'GET /api/v1/user/settings/',
    ]) {
      expect(routes).toContain(r);
    }
    const scenario = report.scenario as { users_ready: number; executions: { finished: number; by_status: Record<string, number>; wrong_output: number } };
    expect(scenario.users_ready).toBe(3);
    expect(scenario.executions.finished).toBeGreaterThan(0);
    expect(scenario.executions.by_status['completed']).toBe(scenario.executions.finished);
    expect(scenario.executions.wrong_output).toBe(0);
    expect(report.timeline.length).toBeGreaterThanOrEqual(3);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('/api/v1/events/executions/{id}');
  });

  it('sse-soak mode: 50 streams per execution, nothing lost', async () => {
    const options = parseOptions(['sse-soak', '--target', target, '--clients', '50', '--duration', '3', '--rate', '1', '--exec-sleep', '1', '--quiet', '--report-dir', join(reports, 'soak'), ...admin]);
    const { report, exitCode } = await runLoadTest(options, { stderr: { write: () => true } });
    const s = report.scenario as Record<string, number>;
    expect(s['batches_finished']).toBeGreaterThanOrEqual(2);
    expect(s['streams_opened']).toBe(s['batches_finished']! * 50);
    expect(s['lost']).toBe(0);
    expect(s['open_failures']).toBe(0);
    expect(s['missed_frames']).toBe(0);
    expect(s['streams_received_terminal']).toBe(s['streams_opened']);
    expect(report.metrics['sse_delivery']!.count).toBeGreaterThan(0);
    expect(report.metrics['sse_delivery']!.p99).toBeLessThan(5000);
    expect(has5xx(report)).toEqual([]);
    expect(exitCode).toBe(0);
  });

  it('monkey mode: random and malformed requests never get a 5xx', async () => {
    const options = parseOptions(['monkey', '--target', target, '--clients', '3', '--duration', '3', '--timeout', '1500', '--seed', '20261127', '--quiet', '--report-dir', join(reports, 'monkey'), ...admin]);
    const { report } = await runLoadTest(options, { stderr: { write: () => true } });
    const scenario = report.scenario as { failures_by_type: Record<string, number>; failure_groups: unknown[]; requests_by_kind: Record<string, number> };
    expect(report.summary.requests).toBeGreaterThan(50);
    expect(Object.keys(scenario.requests_by_kind).sort()).toEqual(['api', 'garbage-path', 'raw', 'session']);
    expect(has5xx(report), JSON.stringify(scenario.failure_groups, null, 1)).toEqual([]);
    expect(scenario.failures_by_type['5xx']).toBe(0);
    expect(existsSync(join(reports, 'monkey', 'report.html'))).toBe(true);
  });
});
