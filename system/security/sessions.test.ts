import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { cookieValue, SessionTokens } from './sessions.js';

const SECRET = 'a'.repeat(64);
const tokens = new SessionTokens(SECRET);
const user = { userId: 'u-1', sessionVersion: 3 };

describe('SessionTokens', () => {
  it('issues an HS256 JWT naming user, session and version; verify returns the claims', async () => {
    const now = Date.now();
    const s = await tokens.issue(user, 60_000, now);
    const [header] = s.accessToken.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(await tokens.verify(s.accessToken, now)).toEqual({
      userId: 'u-1',
      sessionId: s.sessionId,
      version: 3,
      expiresAtMs: Math.floor((now + 60_000) / 1000) * 1000,
    });
  });

  it('rejects expired, tampered, foreign-key and alg=none tokens', async () => {
    const now = Date.now();
    const s = await tokens.issue(user, 60_000, now);
    expect(await tokens.verify(s.accessToken, now + 61_000)).toBeNull();
    const [h, p, sig] = s.accessToken.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...payload, sub: 'admin' })).toString('base64url');
    expect(await tokens.verify(`${h}.${forged}.${sig}`, now)).toBeNull();
    expect(await new SessionTokens('b'.repeat(64)).verify(s.accessToken, now)).toBeNull();
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect(await tokens.verify(none, now)).toBeNull();
    const otherIssuer = await new SignJWT({ sv: 3 }).setProtectedHeader({ alg: 'HS256' }).setSubject('u-1').setJti('j').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
    expect(await tokens.verify(otherIssuer)).toBeNull();
    expect(await tokens.verify('not a jwt')).toBeNull();
  });

  it('a token verified once still expires on time, and its tampered copies still fail', async () => {
    const now = Date.now();
    const s = await tokens.issue(user, 60_000, now);
    expect(await tokens.verify(s.accessToken, now)).not.toBeNull();
    expect(await tokens.verify(s.accessToken, now + 30_000)).not.toBeNull();
    expect(await tokens.verify(s.accessToken, now + 61_000)).toBeNull();
    const [h, p, sig] = s.accessToken.split('.');
    const flipped = `${sig!.slice(0, -2)}${sig!.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await tokens.verify(`${h}.${p}.${flipped}`, now)).toBeNull();
  });

  it('a CSRF token is bound to its session and to this key', async () => {
    const a = await tokens.issue(user, 60_000);
    const b = await tokens.issue(user, 60_000);
    expect(await tokens.csrfMatches(a.csrfToken, a.accessToken)).toBe(true);
    expect(await tokens.csrfMatches(tokens.csrfFor(a.sessionId), a.accessToken)).toBe(true);
    expect(await tokens.csrfMatches(b.csrfToken, a.accessToken)).toBe(false);
    expect(await new SessionTokens('b'.repeat(64)).csrfMatches(a.csrfToken, a.accessToken)).toBe(false);
    for (const bad of ['', '.', 'nonce', `${a.csrfToken}x`, `x${a.csrfToken}`, a.csrfToken.split('.')[0] + '.']) {
      expect(await tokens.csrfMatches(bad, a.accessToken)).toBe(false);
    }
    expect(await tokens.csrfMatches(a.csrfToken, 'garbage')).toBe(false);
  });

  it("an expired session's CSRF token still matches (its owner may log out); a forged token never does", async () => {
    const s = await tokens.issue(user, 1_000, Date.now() - 10_000);
    expect(await tokens.verify(s.accessToken)).toBeNull();
    expect(await tokens.csrfMatches(s.csrfToken, s.accessToken)).toBe(true);
  });

  it('the JWT key is not the CSRF key (domain separation)', async () => {
    const s = await tokens.issue(user, 60_000);
    const [nonce] = s.csrfToken.split('.');
    const jwtShaped = `${nonce}.${s.accessToken.split('.')[2]}`;
    expect(await tokens.csrfMatches(jwtShaped, s.accessToken)).toBe(false);
  });
});

describe('cookieValue', () => {
  it('finds a cookie by exact name and percent-decodes it', () => {
    expect(cookieValue('a=1; access_token=x%2Fy; b=2', 'access_token')).toBe('x/y');
    expect(cookieValue('xaccess_token=1', 'access_token')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
    expect(cookieValue('a=%E0%A4%A', 'a')).toBe('%E0%A4%A');
  });
});
