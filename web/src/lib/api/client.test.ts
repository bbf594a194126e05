import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, apiUrl, onApiFailure, readCookie, toApiError } from './client';

type Call = { url: string; init: RequestInit };
let calls: Call[];
let answer: () => Response | Promise<Response>;

beforeEach(() => {
  calls = [];
  vi.stubGlobal('document', { cookie: 'theme=x; csrf_token=tok%2Fen; other=1' });
  vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(answer());
  });
});
afterEach(() => vi.unstubAllGlobals());

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('api client', () => {
  it('echoes the csrf_token cookie as X-CSRF-Token on writes, not on reads', async () => {
    answer = () => json(200, { ok: true });
    await api.post('/scripts', { json: { a: 1 } });
    await api.get('/scripts');
    const post = calls[0]!.init.headers as Record<string, string>;
    expect(post['x-csrf-token']).toBe('tok/en');
    expect(post['content-type']).toBe('application/json');
    expect(calls[0]!.init.body).toBe('{"a":1}');
    expect((calls[1]!.init.headers as Record<string, string>)['x-csrf-token']).toBeUndefined();
    expect(calls[0]!.init.credentials).toBe('same-origin');
  });

  it('sends the login form urlencoded', async () => {
    answer = () => json(200, {});
    await api.post('/auth/login', { form: { username: 'a b', password: 'p&q' } });
    expect(calls[0]!.init.body).toBe('username=a+b&password=p%26q');
    expect((calls[0]!.init.headers as Record<string, string>)['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('maps error responses to ApiError with status, detail, type and retry-after, and tells the listeners', async () => {
    const heard: ApiError[] = [];
    const off = onApiFailure((err) => heard.push(err));
    answer = () => json(429, { detail: 'Rate limit exceeded', type: 'Throttled', retry_after: 7 }, { 'retry-after': '7' });
    const err = await api.get('/user/executions').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 429, detail: 'Rate limit exceeded', type: 'Throttled', retryAfterSeconds: 7 });
    expect(heard).toHaveLength(1);
    answer = () => json(404, { detail: 'Execution not found', type: 'NotFound' });
    await api.get('/x', { quiet: true }).catch(() => {});
    expect(heard).toHaveLength(1);
    off();
  });

  it('turns a network failure into status 0', async () => {
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('failed')));
    await expect(api.get('/x', { quiet: true })).rejects.toMatchObject({ status: 0, type: 'NetworkError' });
  });

  it('resolves 204 to undefined', async () => {
    answer = () => new Response(null, { status: 204 });
    await expect(api.delete('/scripts/1')).resolves.toBeUndefined();
  });
});

describe('helpers', () => {
  it('builds URLs with repeated array values and without empty ones', () => {
    expect(apiUrl('/notifications', { include_tags: ['a', 'b'], status: '', limit: 10, x: undefined })).toBe('/api/v1/notifications?include_tags=a&include_tags=b&limit=10');
  });

  it('reads cookies by exact name', () => {
    expect(readCookie('csrf_token', 'xcsrf_token=no; csrf_token=yes')).toBe('yes');
    expect(readCookie('missing', 'a=b')).toBeNull();
  });

  it('falls back to a generic detail for bodies without one', () => {
    expect(toApiError(502, 'nope')).toMatchObject({ status: 502, detail: 'Request failed (502)', type: 'HttpError' });
  });
});
