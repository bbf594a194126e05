import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError, ERROR_KINDS, errors, type ErrorKind } from '../system/domain/errors.js';
import { MalformedJsonError, MethodNotAllowedError, toErrorResponse, parseInput } from './errors.js';

/** Status per error kind as the API contract (API.md, "Errors are JSON ...") states it. */
const API_STATUS: Record<ErrorKind, number> = {
  BadRequest: 400,
  InvalidState: 400,
  Unauthenticated: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  TooLarge: 413,
  ValidationError: 422,
  Locked: 423,
  Throttled: 429,
  InternalError: 500,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
};

describe('toErrorResponse', () => {
  it('pins every catalogue kind to the status in API.md', () => {
    expect(Object.keys(ERROR_KINDS).sort()).toEqual(Object.keys(API_STATUS).sort());
    for (const kind of Object.keys(ERROR_KINDS) as ErrorKind[]) {
      const r = toErrorResponse(new AppError(kind, `boom ${kind}`));
      expect(r.status, kind).toBe(API_STATUS[kind]);
      expect(r.body).toEqual({ detail: `boom ${kind}`, type: kind });
    }
  });

  it('adds field errors, extra headers and body fields', () => {
    const v = toErrorResponse(errors.validation([{ field: 'lang', message: 'unsupported' }]));
    expect(v.status).toBe(422);
    expect(v.body['errors']).toEqual([{ field: 'lang', message: 'unsupported' }]);

    const t = toErrorResponse(new AppError('Throttled', 'Rate limit exceeded', { headers: { 'retry-after': '7' }, body: { retry_after: 7 } }));
    expect(t.headers).toEqual({ 'retry-after': '7' });
    expect(t.body).toEqual({ detail: 'Rate limit exceeded', type: 'Throttled', retry_after: 7 });
  });

  it('body extras cannot overwrite detail or type', () => {
    const r = toErrorResponse(new AppError('NotFound', 'gone', { body: { detail: 'x', type: 'y' } }));
    expect(r.body).toEqual({ detail: 'gone', type: 'NotFound' });
  });

  it('a stray ZodError (e.g. corrupt stored data) is our fault, not the client\'s', () => {
    const parsed = z.object({ n: z.number() }).safeParse({ n: 'x' });
    expect(parsed.success).toBe(false);
    expect(toErrorResponse(parsed.error).status).toBe(500);
  });

  it('request input that fails its schema is a 422 naming each field path', () => {
    const schema = z.object({ script: z.string().max(3), nested: z.object({ n: z.number() }) });
    let thrown: unknown;
    try {
      parseInput(schema, { script: 'abcd', nested: { n: 'x' } });
    } catch (err) {
      thrown = err;
    }
    const r = toErrorResponse(thrown);
    expect(r.status).toBe(422);
    expect(r.body['type']).toBe('ValidationError');
    const fields = (r.body['errors'] as Array<{ field: string }>).map((f) => f.field);
    expect(fields.sort()).toEqual(['nested.n', 'script']);
    expect(String(r.body['detail'])).toContain('script');
  });

  it('maps malformed JSON to 400 and a wrong method to 405 with Allow', () => {
    expect(toErrorResponse(new MalformedJsonError())).toMatchObject({ status: 400, body: { detail: 'Malformed JSON body', type: 'BadRequest' } });
    expect(toErrorResponse(new MethodNotAllowedError(['GET', 'POST']))).toMatchObject({ status: 405, headers: { allow: 'GET, POST' } });
  });

  it('hides anything unexpected behind a generic 500', () => {
    const r = toErrorResponse(new Error('password=hunter2 at db.ts:12'));
    expect(r).toMatchObject({ status: 500, internal: true, body: { detail: 'Internal server error', type: 'InternalError' } });
    expect(JSON.stringify(r.body)).not.toContain('hunter2');
  });
});
