import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startHttpStack, type HttpStack } from '../test/support/http-stack.js';
import { buildOpenApi, operationId, type OpenApiDocument } from './openapi.js';
import { Router } from './router.js';

let s: HttpStack;
let doc: OpenApiDocument;
beforeAll(async () => {
  // A group registered without docs and after the docs group: it must still be listed.
  s = await startHttpStack({}, [(router) => void router.get('/api/v1/undocumented/{thing}', (ctx) => ctx.json(200, {}))]);
  const res = await fetch(`${s.base}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as OpenApiDocument;
});
afterAll(async () => s?.close());

describe('GET /api/v1/openapi.json', () => {
  it('is OpenAPI 3.1 with every route of the router, once, with unique operation ids', () => {
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const routes = s.routes().map((r) => `${r.method} ${r.pattern}`);
    expect(listed.sort()).toEqual(routes.sort());
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('declares path parameters, query parameters with their bounds and request bodies from the zod schemas', () => {
    const result = doc.paths['/api/v1/executions/{id}/result']!['get']!;
    expect(result.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }]);
    const list = doc.paths['/api/v1/user/executions']!['get']!;
    const limit = list.parameters!.find((p) => p.name === 'limit')!;
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } });
    expect(list.parameters!.map((p) => p.name).sort()).toEqual(['end_time', 'lang', 'limit', 'skip', 'start_time', 'status']);
    const events = doc.paths['/api/v1/executions/{id}/events']!['get']!;
    expect(events.parameters!.find((p) => p.name === 'event_types')).toMatchObject({ style: 'form', explode: true, schema: { type: 'array' } });
    const execute = doc.paths['/api/v1/execute']!['post']!;
    expect(execute.requestBody).toMatchObject({
      required: true,
      content: { 'application/json': { schema: { properties: { script: { type: 'string', maxLength: 50_000 } }, required: ['script', 'lang', 'lang_version'] } } },
    });
    expect(doc.paths['/api/v1/executions/{id}/cancel']!['post']!.requestBody!.required).toBe(false);
    expect(execute.responses['200']!.content!['application/json']!.schema).toMatchObject({ properties: { execution_id: { type: 'string' } } });
    expect(execute.responses['422']).toBeDefined();
    expect(doc.paths['/api/v1/events/executions/{id}']!['get']!.responses['200']!.content).toHaveProperty('text/event-stream');
  });

  it('describes the session cookie and CSRF header and which operations need them', () => {
    expect(doc.components.securitySchemes).toMatchObject({
      cookieAuth: { type: 'apiKey', in: 'cookie', name: 'access_token' },
      csrfToken: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
    });
    expect(doc.paths['/api/v1/execute']!['post']!.security).toEqual([{ cookieAuth: [], csrfToken: [] }]);
    expect(doc.paths['/api/v1/user/executions']!['get']!.security).toEqual([{ cookieAuth: [] }]);
    expect(doc.paths['/api/v1/health/live']!['get']!.security).toBeUndefined();
    expect(doc.paths['/api/v1/admin/settings/']!['put']!['x-auth']).toBe('admin');
  });

  it('lists an undocumented route with a generic response', () => {
    const op = doc.paths['/api/v1/undocumented/{thing}']!['get']!;
    expect(op).toMatchObject({ summary: 'GET /api/v1/undocumented/{thing}', 'x-auth': 'unknown', responses: { '200': { description: 'Response (not documented)' } } });
    expect(op.parameters).toEqual([{ name: 'thing', in: 'path', required: true, schema: { type: 'string' } }]);
  });
});

describe('buildOpenApi', () => {
  it('survives a schema JSON Schema cannot express, and names operations stably', () => {
    const router = new Router().post('/x/{id}', () => undefined, { summary: 'x', body: z.object({ when: z.date(), big: z.bigint() }) });
    const built = buildOpenApi(router.list());
    expect(built.paths['/x/{id}']!['post']!.requestBody!.content['application/json']!.schema).toMatchObject({ type: 'object' });
    expect(operationId('GET', '/api/v1/executions/{id}/result')).toBe('get_api_v1_executions_id_result');
  });
});

describe('GET /api/v1/docs', () => {
  it('is a self-contained page listing every operation, with a CSP that allows only its own style', async () => {
    const res = await fetch(`${s.base}/api/v1/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);
    const html = await res.text();
    expect(html).not.toMatch(/<script|https?:\/\/(?!127)/);
    for (const r of s.routes()) expect(html).toContain(r.pattern);
    expect(html).toContain('PUT');
  });
});
