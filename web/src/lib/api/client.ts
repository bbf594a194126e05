/**
 * The one place the SPA talks HTTP: same-origin fetch with cookies, the CSRF header echoed from the
 * `csrf_token` cookie on unsafe methods, and every failure turned into an ApiError (status, detail, type).
 */

/** A failed API call: the HTTP status (0 for a network failure) and the server's `{detail, type}`. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly type: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(detail);
  }
}

/** Who hears about failures: the toast layer and the session (401 → signed out). */
type FailureListener = (err: ApiError, path: string) => void;
const failureListeners = new Set<FailureListener>();

/** Registers a listener for every failed call; returns its removal. */
export function onApiFailure(listener: FailureListener): () => void {
  failureListeners.add(listener);
  return () => failureListeners.delete(listener);
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The value of a cookie readable by scripts, or null. */
export function readCookie(name: string, cookieHeader: string = document.cookie): string | null {
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

/** Options of one call: a JSON body, a form body, query parameters, and whether failures stay quiet. */
export interface RequestOptions {
  json?: unknown;
  form?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined | null | string[]>;
  headers?: Record<string, string>;
  /** Do not notify the failure listeners (the caller shows the error itself). */
  quiet?: boolean;
}

/** Builds `/api/v1{path}?query`, repeating array values. */
export function apiUrl(path: string, query: RequestOptions['query'] = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else params.set(key, String(value));
  }
  const qs = params.toString();
  return `/api/v1${path}${qs ? `?${qs}` : ''}`;
}

/** Calls the API; resolves with the parsed JSON (undefined for 204), rejects with ApiError. */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  if (UNSAFE.has(method)) {
    const csrf = readCookie('csrf_token');
    if (csrf) headers['x-csrf-token'] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), { method, headers, body, credentials: 'same-origin' });
  } catch {
    return fail(new ApiError(0, 'Network error: the server cannot be reached', 'NetworkError'), path, opts);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (res.ok) return parsed as T;
  return fail(toApiError(res.status, parsed, res.headers.get('retry-after')), path, opts);
}

/** Turns an error response into an ApiError; 422 details list the fields. */
export function toApiError(status: number, body: unknown, retryAfter: string | null = null): ApiError {
  const record = (body ?? {}) as { detail?: unknown; type?: unknown; retry_after?: unknown };
  let detail: string;
  if (typeof record.detail === 'string') detail = record.detail;
  else if (Array.isArray(record.detail)) {
    detail = record.detail
      .map((d: { loc?: unknown[]; field?: string; msg?: string; message?: string }) => {
        const field = d.field ?? (Array.isArray(d.loc) ? d.loc.filter((x) => x !== 'body').join('.') : '');
        return `${field ? `${field}: ` : ''}${d.msg ?? d.message ?? 'invalid'}`;
      })
      .join('; ');
  } else detail = `Request failed (${status})`;
  const type = typeof record.type === 'string' ? record.type : 'HttpError';
  const seconds = typeof record.retry_after === 'number' ? record.retry_after : retryAfter ? Number(retryAfter) : null;
  return new ApiError(status, detail, type, Number.isFinite(seconds) ? seconds : null);
}

function fail(err: ApiError, path: string, opts: RequestOptions): never {
  if (!opts.quiet) for (const listener of failureListeners) listener(err, path);
  throw err;
}

/** Shorthands per method. */
export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, opts?: RequestOptions) => request<T>('POST', path, opts),
  put: <T>(path: string, opts?: RequestOptions) => request<T>('PUT', path, opts),
  delete: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
};
