/**
 * Session tokens. The access token is a JWT (HS256) naming the user, the session (`jti`) and the user's
 * session version; the CSRF token is `<nonce>.<HMAC(nonce | session id)>`, so it is only valid next to the
 * access token of the session it was minted for. Both keys are derived from the node's secret key (HKDF,
 * one per purpose), so a token of one kind can never pass as the other.
 */
import { createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';

/** Cookie names the API uses. */
export const ACCESS_COOKIE = 'access_token';
/** The JS-readable cookie that holds the CSRF token. */
export const CSRF_COOKIE = 'csrf_token';

const ISSUER = 'integr8s';
const VERIFIED_CACHE_SIZE = 10_000;

/** What a valid access token says. */
export interface SessionClaims {
  userId: string;
  sessionId: string;
  /** The user's session version when the token was issued. */
  version: number;
  expiresAtMs: number;
}

/** A freshly issued session. */
export interface IssuedSession {
  accessToken: string;
  csrfToken: string;
  sessionId: string;
  expiresAtMs: number;
}

/** Issues and checks access and CSRF tokens with keys derived from the secret key. */
export class SessionTokens {
  private readonly jwtKey: Uint8Array;
  private readonly csrfKey: Buffer;
  /**
   * Tokens whose signature and claims were already checked, with their claims: a signature is a pure function
   * of token and key, so a repeat needs only the expiry test. Bounded; the oldest entry goes first.
   */
  private readonly verified = new Map<string, SessionClaims>();

  constructor(secretKey: string) {
    this.jwtKey = derive(secretKey, 'integr8s/session-jwt');
    this.csrfKey = Buffer.from(derive(secretKey, 'integr8s/csrf'));
  }

  /** A new session for the user, valid for `ttlMs`. */
  async issue(user: { userId: string; sessionVersion: number }, ttlMs: number, nowMs = Date.now()): Promise<IssuedSession> {
    const sessionId = randomUUID();
    const expiresAtMs = nowMs + ttlMs;
    const accessToken = await new SignJWT({ sv: user.sessionVersion })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.userId)
      .setJti(sessionId)
      .setIssuer(ISSUER)
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(Math.floor(expiresAtMs / 1000))
      .sign(this.jwtKey);
    return { accessToken, csrfToken: this.csrfFor(sessionId), sessionId, expiresAtMs };
  }

  /** The claims of a valid, unexpired access token; null for anything else. */
  async verify(accessToken: string, nowMs = Date.now()): Promise<SessionClaims | null> {
    const known = this.verified.get(accessToken);
    // jose's rule: a token is expired once its `exp` (seconds) is not after the current whole second.
    if (known) return known.expiresAtMs > Math.floor(nowMs / 1000) * 1000 ? known : null;
    try {
      const { payload } = await jwtVerify(accessToken, this.jwtKey, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        currentDate: new Date(nowMs),
      });
      const claims = toClaims(payload);
      if (claims) this.remember(accessToken, claims);
      return claims;
    } catch {
      return null;
    }
  }

  private remember(accessToken: string, claims: SessionClaims): void {
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next();
      if (!oldest.done) this.verified.delete(oldest.value);
    }
    this.verified.set(accessToken, claims);
  }

  /** A CSRF token bound to the session. */
  csrfFor(sessionId: string): string {
    const nonce = randomBytes(18).toString('base64url');
    return `${nonce}.${this.mac(nonce, sessionId)}`;
  }

  /**
   * True when `csrfToken` was minted for the session of `accessToken`. The access token's signature must be
   * ours; its expiry does not matter here (an expired session authorises nothing, and its owner may still log out).
   */
  async csrfMatches(csrfToken: string, accessToken: string): Promise<boolean> {
    const sessionId = await this.sessionIdOf(accessToken);
    if (sessionId === null) return false;
    const dot = csrfToken.indexOf('.');
    if (dot <= 0) return false;
    const expected = Buffer.from(this.mac(csrfToken.slice(0, dot), sessionId));
    const given = Buffer.from(csrfToken.slice(dot + 1));
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private async sessionIdOf(accessToken: string): Promise<string | null> {
    const known = this.verified.get(accessToken);
    if (known) return known.sessionId;
    try {
      const { payload } = await jwtVerify(accessToken, this.jwtKey, { algorithms: ['HS256'], issuer: ISSUER });
      return typeof payload.jti === 'string' ? payload.jti : null;
    } catch (err) {
      // jose checks the signature before the claims, so an expired token's payload is authentic.
      if (err instanceof joseErrors.JWTExpired && typeof err.payload.jti === 'string') return err.payload.jti;
      return null;
    }
  }

  private mac(nonce: string, sessionId: string): string {
    return createHmac('sha256', this.csrfKey).update(`${nonce}|${sessionId}`).digest('base64url');
  }
}

function derive(secret: string, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), purpose, 32));
}

function toClaims(payload: JWTPayload): SessionClaims | null {
  const { sub, jti, exp } = payload;
  const version = payload['sv'];
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof exp !== 'number' || typeof version !== 'number') return null;
  return { userId: sub, sessionId: jti, version, expiresAtMs: exp * 1000 };
}

/** A cookie's value from a Cookie request header (percent-decoded), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || !header.includes(name)) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}
