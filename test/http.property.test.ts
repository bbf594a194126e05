/**
 * Property test of the whole HTTP surface: fast-check sends generated malformed requests (random bytes, wrong JSON
 * types, huge strings, deep nesting, odd headers, query strings and paths) to every route of a fully wired server,
 * signed in and anonymous, over raw sockets. A request must never get a 5xx, never hang, and /health/live must stay 200.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteInfo } from '../http/router.js';
import { encode, rawRequest, requestFor } from './support/http-arbitraries.js';
import { startHttpStack, type HttpStack } from './support/http-stack.js';

const TIME_BUDGET_MS = 40_000;

let s: HttpStack;
let routes: RouteInfo[];
let ids: string[];
beforeAll(async () => {
  s = await startHttpStack();
  routes = s.routes();
  ids = [
    (await s.seed('alice')).id,
    (await s.seed('alice', { status: 'completed' })).id,
    (await s.seed('root', { status: 'failed' })).id,
  ];
});
afterAll(async () => s?.close());

const live = async () => (await fetch(`${s.base}/api/v1/health/live`)).status;

describe('every route under generated malformed requests', () => {
  it('never answers 5xx, never hangs, and /health/live stays up', { timeout: 60_000 }, async () => {
    expect(routes.length).toBeGreaterThan(15);
    const seen = new Map<number, number>();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(requestFor(routes, ids), async (r) => {
        const status = await rawRequest(s.port, encode(r));
        seen.set(status ?? 0, (seen.get(status ?? 0) ?? 0) + 1);
        expect(status === null || status < 500, `status ${status} for ${r.method} ${r.target.slice(0, 200)}`).toBe(true);
        if (++n % 50 === 0) expect(await live()).toBe(200);
      }),
      { numRuns: 2500, interruptAfterTimeLimit: TIME_BUDGET_MS, markInterruptAsFailure: false, endOnFailure: true },
    );
    expect(await live()).toBe(200);
    if (process.env['PROPERTY_STATS']) console.log(Object.fromEntries(seen));
    expect(s.log.errors).toEqual([]);
    // The generator reaches the routes, not only the 4xx walls in front of them.
    expect([...seen.keys()].some((code) => code >= 200 && code < 300)).toBe(true);
  });

  it('survives raw protocol garbage', { timeout: 30_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.boolean(), async (bytes, terminated) => {
        const status = await rawRequest(s.port, Buffer.concat([Buffer.from(bytes), Buffer.from(terminated ? '\r\n\r\n' : '')]), true);
        expect(status === null || status < 500).toBe(true);
      }),
      { numRuns: 400, interruptAfterTimeLimit: 15_000, markInterruptAsFailure: false },
    );
    expect(await live()).toBe(200);
  });
});
