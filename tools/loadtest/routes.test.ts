import { describe, expect, it } from 'vitest';
import { RouteTemplates, looksLikeId, templatePath } from './routes.js';

const TEMPLATES = new RouteTemplates([
  '/api/v1/scripts',
  '/api/v1/scripts/{script_id}',
  '/api/v1/executions/{id}/result',
  '/api/v1/events/executions/{id}',
  '/api/v1/notifications/{notification_id}',
  '/api/v1/notifications/unread-count',
  '/api/v1/user/settings/custom/{key}',
]);

describe('route templating', () => {
  it('replaces ids by {id} using the known patterns, query strings dropped', () => {
    expect(templatePath('/api/v1/scripts/03c7e242-c1ba-4a15-b02d-d779e2f25558', TEMPLATES)).toBe('/api/v1/scripts/{id}');
    expect(templatePath('/api/v1/executions/abc/result?x=1', TEMPLATES)).toBe('/api/v1/executions/{id}/result');
    expect(templatePath('/api/v1/user/settings/custom/my-key', TEMPLATES)).toBe('/api/v1/user/settings/custom/{id}');
    expect(templatePath('/api/v1/scripts', TEMPLATES)).toBe('/api/v1/scripts');
  });

  it('prefers literal segments over parameters', () => {
    expect(templatePath('/api/v1/notifications/unread-count', TEMPLATES)).toBe('/api/v1/notifications/unread-count');
    expect(templatePath('/api/v1/notifications/1701dad8-d2a1-5e41-a7c4-1fb7cf7dc901', TEMPLATES)).toBe('/api/v1/notifications/{id}');
  });

  it('recognises id-shaped segments when no pattern matches', () => {
    expect(templatePath('/api/v2/things/88909048-c42d-47cc-97a9-457933a23bc1/parts/42')).toBe('/api/v2/things/{id}/parts/{id}');
    expect(templatePath('/x/01a21a66-9d30-7112-bc28-6ca98800bdf8#frag')).toBe('/x/{id}');
    expect(templatePath('/x/5f2b3c4d5e6f7a8b9c0d1e2f')).toBe('/x/{id}'); // object id (hex)
    expect(templatePath('/x/01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe('/x/{id}'); // ULID
    expect(templatePath('/api/v1/admin/users/reset-password')).toBe('/api/v1/admin/users/reset-password');
    expect(templatePath('/')).toBe('/');
    expect(templatePath('?only=query')).toBe('/');
  });

  it('tells ids from words', () => {
    for (const id of ['123', '88909048-c42d-47cc-97a9-457933a23bc1', 'deadbeefdeadbeef00', 'eyJhbGciOiJIUzI1NiJ9abc123']) expect(looksLikeId(id)).toBe(true);
    for (const word of ['scripts', 'mark-all-read', 'unread-count', 'reset-password', 'subscriptions', '']) expect(looksLikeId(word)).toBe(false);
  });
});
