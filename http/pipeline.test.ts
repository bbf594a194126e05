import { afterEach, describe, expect, it } from 'vitest';
import { AppError, errors } from '../system/domain/errors.js';
import { HttpMetrics } from './metrics.js';
import { buildPipeline, type RateLimiter } from './pipeline.js';
import { Router } from './router.js';
import { connect, eventually, parseHead, readUntil, startHarness, type Harness } from './test-support.js';

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'",
};

let h: Harness | null = null;
async function start(overrides?: Parameters<typeof startHarness>[0]): Promise<Harness> {
  h = await startHarness(overrides);
  return h;
}
afterEach(async () => {
  await h?.server.close();
  h = null;
});

function expectSecurityHeaders(headers: Headers | Record<string, string>) {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]);
  for (const [name, value] of Object.entries(SECURITY)) expect(get(name), name).toBe(value);
  expect(get('referrer-policy')).toBeTruthy();
}

const execute = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/v1/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('pipeline order', () => {
  it('is the documented lifecycle', () => {
    const steps = buildPipeline({
      maxBodyBytes: 1,
      corsOrigins: [],
      router: new Router(),
      metrics: new HttpMetrics(),
      log: { info() {}, warn() {}, error() {} },
      draining: () => false,
    });
    expect(steps.map((s) => s.name)).toEqual(['metrics', 'securityHeaders', 'cors', 'requestSize', 'auth', 'csrf', 'rateLimit', 'route']);
  });

  it('unknown route: 404 JSON shape, security headers, no-store', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/api/v1/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Not found', type: 'NotFound' });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expectSecurityHeaders(res.headers);
  });

  it('wrong method on a known path: 405 with Allow', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/api/v1/execute`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toMatchObject({ type: 'MethodNotAllowed' });
  });

  it('CORS preflight from an allowed origin is answered before auth and routing', async () => {
    const { base } = await start({ resolveCaller: () => Promise.reject(errors.unauthenticated()) });
    const res = await fetch(`${base}/api/v1/execute`, {
      method: 'OPTIONS',
      headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toContain('X-CSRF-Token');
    expectSecurityHeaders(res.headers);
  });

  it('CORS: other origins get no allow headers; preflight from them is refused', async () => {
    const { base } = await start();
    const simple = await fetch(`${base}/api/v1/health/live`, { headers: { origin: 'http://evil.example' } });
    expect(simple.status).toBe(200);
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const allowed = await fetch(`${base}/api/v1/health/live`, { headers: { origin: 'http://app.example' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://app.example');
    expect(allowed.headers.get('vary')).toBe('Origin');
    const pre = await fetch(`${base}/api/v1/execute`, {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('413 from Content-Length alone, still with security headers, before auth runs', async () => {
    let authCalls = 0;
    const { port } = await start({ resolveCaller: ({ ip }) => (authCalls++, { userId: null, role: 'anonymous', ip }) });
    const socket = await connect(port);
    socket.write(`POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${20 * 1024 * 1024}\r\n\r\n`);
    const raw = await readUntil(socket, (t) => t.includes('}'));
    socket.destroy();
    const res = parseHead(raw);
    expect(res.status).toBe(413);
    expectSecurityHeaders(res.headers);
    expect(res.headers['connection']).toBe('close');
    expect(raw).toContain('"type":"TooLarge"');
    expect(authCalls).toBe(0);
  });

  it('413 as soon as a chunked body without Content-Length passes 10 MB', async () => {
    const { port, executions } = await start();
    const socket = await connect(port);
    socket.write('POST /api/v1/execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const response = readUntil(socket, (t) => t.includes('}'), 15_000);
    let sent = 0;
    let answered = false;
    void response.then(() => (answered = true), () => (answered = true));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // Never sends the terminating chunk: a server waiting for the whole body would never answer.
    while (!answered && sent < 64 * 1024 * 1024) {
      const ok = socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write('\r\n');
      sent += chunk.length;
      if (!ok) await new Promise((r) => socket.once('drain', r));
      else await new Promise((r) => setImmediate(r));
    }
    const res = parseHead(await response);
    socket.destroy();
    expect(res.status).toBe(413);
    expectSecurityHeaders(res.headers);
    expect(sent).toBeGreaterThan(10 * 1024 * 1024);
    expect(sent).toBeLessThan(40 * 1024 * 1024);
    expect(executions.submitted).toHaveLength(0);
  });
});

describe('auth, CSRF and rate-limit slots', () => {
  it('the auth step resolves the caller the routes see; its errors are responses', async () => {
    const { base, executions } = await start({
      resolveCaller: ({ headers, ip }) => {
        if (headers['authorization'] === 'bad') throw errors.unauthenticated();
        return { userId: 'u1', role: 'user', ip };
      },
    });
    await execute(base, { script: 'p', lang: 'python', lang_version: '3.11' });
    expect(executions.submitted[0]?.caller).toMatchObject({ userId: 'u1', role: 'user' });
    const res = await fetch(`${base}/api/v1/example-scripts`, { headers: { authorization: 'bad' } });
    expect(res.status).toBe(401);
  });

  it('CSRF: no session cookie passes; a session cookie without a bound token is 403', async () => {
    const { base } = await start();
    const body = { script: 'p', lang: 'python', lang_version: '3.11' };
    expect((await execute(base, body)).status).toBe(200);
    const res = await execute(base, body, { cookie: 'access_token=jwt; csrf_token=t1', 'x-csrf-token': 't1' });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ detail: 'CSRF validation failed', type: 'Forbidden' });
  });

  it('CSRF: with a verifier, header == cookie and a bound token pass', async () => {
    const { base } = await start({ csrf: { verify: (token, session) => token === 't1' && session === 'jwt' } });
    const body = { script: 'p', lang: 'python', lang_version: '3.11' };
    expect((await execute(base, body, { cookie: 'access_token=jwt; csrf_token=t1', 'x-csrf-token': 't1' })).status).toBe(200);
    expect((await execute(base, body, { cookie: 'access_token=jwt; csrf_token=t1', 'x-csrf-token': 't2' })).status).toBe(403);
  });

  it('rate limiter: headers on every answer, 429 with Retry-After and body fields', async () => {
    let remaining = 1;
    const limiter: RateLimiter = {
      check: () => ({ allowed: remaining-- > 0, limit: 1, remaining: Math.max(remaining, 0), resetAt: 1_700_000_060, retryAfterSeconds: 42 }),
    };
    const { base } = await start({ rateLimiter: limiter });
    const first = await fetch(`${base}/api/v1/example-scripts`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('1');
    const second = await fetch(`${base}/api/v1/example-scripts`);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('42');
    expect(second.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await second.json()).toEqual({
      detail: 'Rate limit exceeded',
      type: 'Throttled',
      retry_after: 42,
      reset_at: new Date(1_700_000_060_000).toISOString(),
    });
  });

  it('a thrown catalogue error from any step keeps the security headers', async () => {
    const { base } = await start({ rateLimiter: { check: () => Promise.reject(new AppError('Locked', 'locked')) } });
    const res = await fetch(`${base}/api/v1/example-scripts`);
    expect(res.status).toBe(423);
    expectSecurityHeaders(res.headers);
  });
});

describe('metrics and shutdown', () => {
  it('counts requests per route pattern, not per raw path', async () => {
    const { base, server } = await start();
    await fetch(`${base}/api/v1/executions/a/result`);
    await fetch(`${base}/api/v1/executions/b/result`);
    await fetch(`${base}/api/v1/executions/missing/result`);
    await fetch(`${base}/nowhere`);
    const byRoute = Object.fromEntries(server.metrics().map((s) => [`${s.method} ${s.route}`, s]));
    expect(byRoute['GET /api/v1/executions/{id}/result']).toMatchObject({ count: 3, byStatus: { 200: 2, 404: 1 } });
    expect(byRoute['GET unmatched']).toMatchObject({ count: 1 });
  });

  it('counts requests refused before routing, under the route they asked for', async () => {
    const { base, server } = await start({
      resolveCaller: () => {
        throw new AppError('Unauthenticated', 'bad session');
      },
    });
    expect((await fetch(`${base}/api/v1/executions/a/result`)).status).toBe(401);
    expect((await fetch(`${base}/nowhere`)).status).toBe(401);
    const byRoute = Object.fromEntries(server.metrics().map((s) => [`${s.method} ${s.route}`, s]));
    expect(byRoute['GET /api/v1/executions/{id}/result']).toMatchObject({ count: 1, byStatus: { 401: 1 } });
    expect(byRoute['GET unmatched']).toMatchObject({ count: 1, byStatus: { 401: 1 } });
  });

  it('close() lets a request in flight finish, then drops the connections; requests in flight are counted until they end', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { base, server } = await start({
      config: { shutdownGraceMs: 5000 },
      routes: [
        (router) =>
          router.get(
            '/api/v1/slow',
            async (ctx) => {
              await held;
              ctx.json(200, { done: true });
            },
            { summary: 'slow', tag: 't', auth: 'public' },
          ),
      ],
    });
    const answer = fetch(`${base}/api/v1/slow`);
    await eventually(() => server.activeRequests() === 1, 5000, 'the request in flight');
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(closed).toBe(false);
    release();
    expect(await (await answer).json()).toEqual({ done: true });
    await closing;
    expect(server.activeRequests()).toBe(0);
  });

  it('close() stops accepting connections', async () => {
    const { base, server } = await start();
    expect((await fetch(`${base}/api/v1/health/live`)).status).toBe(200);
    await server.close();
    await expect(fetch(`${base}/api/v1/health/live`)).rejects.toThrow();
  });
});
