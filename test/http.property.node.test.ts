/**
 * The property test against a whole embedded node: every route group the node serves (accounts, scripts,
 * settings, notifications, admin users, rate limits, cluster view, executions, docs), taken from its own
 * OpenAPI document, with real sessions (an admin, a user, none, or a forged cookie). Never a 5xx, never a
 * hang, and the node stays healthy.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../http/router.js';
import { encode, rawRequest, requestFor } from './support/http-arbitraries.js';
import { startTestNode, type TestNode } from './support/node-harness.js';
import { login } from './support/session.js';

let t: TestNode;
let routes: RouteInfo[];
let ids: string[];
let sessions: fc.Arbitrary<Record<string, string>>;

beforeAll(async () => {
  t = await startTestNode();
  const doc = (await t.api('/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  routes = Object.entries(doc.paths).flatMap(([pattern, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), pattern, doc: undefined })));
  const register = await t.api('/auth/register', { method: 'POST', json: { username: 'propuser', email: 'prop@example.com', password: 'prop-password-123' } });
  expect(register.status).toBe(200);
  const user = await login(t.base, 'propuser', 'prop-password-123');
  const script = await fetch(`${t.base}/scripts`, {
    method: 'POST',
    headers: { ...user.headers(), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'p', script: 'print(1)', lang: 'python', lang_version: '3.11' }),
  });
  ids = [await t.submit('print(1)'), ((await script.json()) as { id?: string; script_id?: string }).id ?? '', t.session.userId, user.userId];
  sessions = fc.constantFrom(t.session.headers(), user.headers(), {}, { cookie: 'access_token=forged.jwt.value; csrf_token=x', 'x-csrf-token': 'x' });
}, 120_000);

afterAll(async () => t?.stop());

describe('every route of a full node under generated malformed requests', () => {
  it('never answers 5xx, never hangs, and /health/live stays up', { timeout: 90_000 }, async () => {
    expect(routes.length).toBeGreaterThan(40);
    const port = t.node.port;
    const seen = new Map<number, number>();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(requestFor(routes, ids, sessions), async (r) => {
        const status = await rawRequest(port, encode(r));
        seen.set(status ?? 0, (seen.get(status ?? 0) ?? 0) + 1);
        expect(status === null || status < 500, `status ${status} for ${r.method} ${r.target.slice(0, 200)}`).toBe(true);
        if (++n % 50 === 0) expect((await fetch(`${t.base}/health/live`)).status).toBe(200);
      }),
      { numRuns: 2000, interruptAfterTimeLimit: 45_000, markInterruptAsFailure: false, endOnFailure: true },
    );
    expect((await fetch(`${t.base}/health/live`)).status).toBe(200);
    if (process.env['PROPERTY_STATS']) console.log(Object.fromEntries(seen));
    expect([...seen.keys()].some((code) => code >= 200 && code < 300)).toBe(true);
  });
});
