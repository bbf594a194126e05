/** Cookie and form helpers for the transport: Set-Cookie serialisation, the session cookies, form bodies. */
import { ACCESS_COOKIE, CSRF_COOKIE } from '../system/security/sessions.js';
import type { HttpContext } from './context.js';

/** Attributes of one Set-Cookie. */
export interface CookieOptions {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Strict' | 'Lax' | 'None';
  path: string;
  /** Seconds; 0 deletes the cookie. */
  maxAgeSeconds: number;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** One Set-Cookie header value. The value is percent-encoded; names must be RFC 6265 tokens. */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  if (!TOKEN.test(name)) throw new Error(`invalid cookie name '${name}'`);
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path}`, `Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`];
  if (opts.maxAgeSeconds <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (opts.httpOnly) parts.push('HttpOnly');
  if (opts.secure) parts.push('Secure');
  parts.push(`SameSite=${opts.sameSite}`);
  return parts.join('; ');
}

/** Adds one Set-Cookie line per cookie to the response. */
export function setCookies(ctx: HttpContext, cookies: readonly string[]): void {
  for (const cookie of cookies) ctx.addCookie(cookie);
}

/** True when the client reached us over TLS, as far as we can tell (a TLS-terminating proxy says so). */
export function isSecureRequest(ctx: HttpContext): boolean {
  const proto = ctx.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return proto === 'https';
}

/** Sets `access_token` (httpOnly) and `csrf_token` (readable by JS), both SameSite=Strict on `/`. */
export function setSessionCookies(ctx: HttpContext, session: { accessToken: string; csrfToken: string }, maxAgeSeconds: number): void {
  const base = { secure: isSecureRequest(ctx), sameSite: 'Strict' as const, path: '/', maxAgeSeconds };
  setCookies(ctx, [
    serializeCookie(ACCESS_COOKIE, session.accessToken, { ...base, httpOnly: true }),
    serializeCookie(CSRF_COOKIE, session.csrfToken, { ...base, httpOnly: false }),
  ]);
}

/** Sets only `csrf_token` (a replacement for a missing or stale one). */
export function setCsrfCookie(ctx: HttpContext, csrfToken: string, maxAgeSeconds: number): void {
  const opts = { secure: isSecureRequest(ctx), sameSite: 'Strict' as const, path: '/', maxAgeSeconds, httpOnly: false };
  setCookies(ctx, [serializeCookie(CSRF_COOKIE, csrfToken, opts)]);
}

/** Deletes both session cookies (same attributes, Max-Age=0). */
export function clearSessionCookies(ctx: HttpContext): void {
  const base = { secure: isSecureRequest(ctx), sameSite: 'Strict' as const, path: '/', maxAgeSeconds: 0 };
  setCookies(ctx, [
    serializeCookie(ACCESS_COOKIE, '', { ...base, httpOnly: true }),
    serializeCookie(CSRF_COOKIE, '', { ...base, httpOnly: false }),
  ]);
}

/** An application/x-www-form-urlencoded body as fields (the first value of a repeated field wins). */
export async function readForm(ctx: HttpContext): Promise<Record<string, string>> {
  const raw = (await ctx.body.read()).toString('utf8');
  const fields = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(raw)) if (!(name in fields)) fields[name] = value;
  return fields;
}

