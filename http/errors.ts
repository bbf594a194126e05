import { z } from 'zod';
import { AppError, errors, type FieldError } from '../system/domain/errors.js';
import type { HttpContext } from './context.js';
import { describeError, type HttpLogger } from './log.js';

/** The path exists but not for this method (transport-level: 405 with an Allow header). */
export class MethodNotAllowedError extends Error {
  constructor(readonly allowed: readonly string[]) {
    super('Method not allowed');
    this.name = 'MethodNotAllowedError';
  }
}

/** The request body is not valid JSON. */
export class MalformedJsonError extends Error {
  constructor(message = 'Malformed JSON body') {
    super(message);
    this.name = 'MalformedJsonError';
  }
}

/** An error as the client sees it. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** True for failures that are our fault and must be logged (5xx). */
  internal: boolean;
}

/** Field errors named by dotted path (`script`, `filters.event_types.0`); `body` for the root. */
export function fieldErrors(err: z.ZodError): FieldError[] {
  return err.issues.map((issue) => ({
    field: issue.path.length ? issue.path.map(String).join('.') : 'body',
    message: issue.message,
  }));
}

/** Validates request input: a mismatch is the client's 422 naming each field. A ZodError from anywhere else is our fault (500). */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw errors.validation(fieldErrors(parsed.error));
  return parsed.data;
}

/** The one mapping from anything thrown to an HTTP error response. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof AppError) return fromAppError(err);
  if (err instanceof MalformedJsonError) return fromAppError(errors.badRequest(err.message));
  if (err instanceof MethodNotAllowedError) {
    return {
      status: 405,
      headers: { allow: err.allowed.join(', ') },
      body: { detail: 'Method not allowed', type: 'MethodNotAllowed' },
      internal: false,
    };
  }
  return {
    status: 500,
    headers: {},
    body: { detail: 'Internal server error', type: 'InternalError' },
    internal: true,
  };
}

function fromAppError(err: AppError): ErrorResponse {
  const body: Record<string, unknown> = { ...err.extra.body, detail: err.message, type: err.kind };
  if (err.extra.fields) body['errors'] = err.extra.fields;
  return { status: err.status, headers: { ...err.extra.headers }, body, internal: err.status >= 500 };
}

/** Answers a failed request with its error response, logging our own faults; the only writer of error bodies. */
export function sendError(ctx: HttpContext, err: unknown, log: HttpLogger): void {
  if (ctx.aborted) return;
  const response = toErrorResponse(err);
  if (ctx.responded) {
    // Too late for a status code (a stream is open or a response went out): only our faults are worth a line.
    if (response.internal) log.error({ ...where(ctx), ...describeError(err) }, 'error after the response started');
    return;
  }
  if (response.internal) log.error({ ...where(ctx), status: response.status, ...describeError(err) }, 'request failed');
  ctx.json(response.status, response.body, response.headers);
}

function where(ctx: HttpContext): Record<string, unknown> {
  return { method: ctx.method, path: ctx.path, route: ctx.route };
}
