import { describe, expect, it } from 'vitest';
import { Router } from './router.js';

const noop = () => undefined;

describe('Router', () => {
  it('matches {param} segments and decodes them', () => {
    const r = new Router().get('/api/v1/executions/{id}/result', noop);
    const m = r.match('GET', '/api/v1/executions/a%20b/result');
    expect(m).toMatchObject({ kind: 'found', pattern: '/api/v1/executions/{id}/result', params: { id: 'a b' } });
  });

  it('tells 404 from 405 and lists the allowed methods', () => {
    const r = new Router().get('/x/{id}', noop).delete('/x/{id}', noop);
    expect(r.match('GET', '/nope')).toEqual({ kind: 'not_found' });
    expect(r.match('POST', '/x/1')).toEqual({ kind: 'method_not_allowed', allowed: ['DELETE', 'GET'] });
  });

  it('prefers a static segment over a parameter whatever the order', () => {
    const r = new Router().get('/admin/executions/{id}', noop).get('/admin/executions/queue', noop);
    expect(r.match('GET', '/admin/executions/queue')).toMatchObject({ pattern: '/admin/executions/queue' });
    expect(r.match('GET', '/admin/executions/42')).toMatchObject({ pattern: '/admin/executions/{id}', params: { id: '42' } });
  });

  it('ignores a trailing slash and rejects bad percent-encoding as not found', () => {
    const r = new Router().get('/user/settings/', noop);
    expect(r.match('GET', '/user/settings').kind).toBe('found');
    expect(r.match('GET', '/user/%E0%A4%A').kind).toBe('not_found');
  });

  it('refuses the same route twice', () => {
    const r = new Router().get('/a/{x}', noop);
    expect(() => r.get('/a/{y}', noop)).toThrow(/registered twice/);
  });
});
