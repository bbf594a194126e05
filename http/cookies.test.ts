import { describe, expect, it } from 'vitest';
import type { HttpContext } from './context.js';
import { serializeCookie, setCookies } from './cookies.js';

const opts = { httpOnly: true, secure: false, sameSite: 'Strict' as const, path: '/', maxAgeSeconds: 60 };

describe('cookies', () => {
  it('serialises attributes; Max-Age=0 also sets an Expires in the past', () => {
    expect(serializeCookie('a', 'x y;z', opts)).toBe('a=x%20y%3Bz; Path=/; Max-Age=60; HttpOnly; SameSite=Strict');
    expect(serializeCookie('a', '', { ...opts, httpOnly: false, secure: true, maxAgeSeconds: 0 })).toBe(
      'a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Strict',
    );
    expect(() => serializeCookie('bad name', 'v', opts)).toThrow();
  });

});
