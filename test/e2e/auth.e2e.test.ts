import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client, parseSetCookie, startAccountsServer, testSettings, type AccountsServer } from '../support/accounts-server.js';
import { createTempDir, type TempDir } from '../support/temp-dir.js';

const ADMIN = { username: 'root', password: 'root-password-1' };
const EXEC = { script: 'print(1)', lang: 'python', lang_version: '3.11' };

let dir: TempDir;
let srv: AccountsServer | null = null;
beforeEach(async () => {
  dir = await createTempDir('integr8s-auth-');
});
afterEach(async () => {
  await srv?.close();
  srv = null;
  await dir.cleanup();
});

async function start(settings = testSettings()): Promise<AccountsServer> {
  srv = await startAccountsServer(dir.path, { settings, admin: ADMIN });
  return srv;
}

async function register(c: Client, username: string, password = 'password-123', email = `${username}@example.com`) {
  return c.request('POST', '/api/v1/auth/register', { json: { username, email, password } });
}

describe('register, login, me, logout', () => {
  it('register → login (form) → me', async () => {
    const { base } = await start();
    const c = new Client(base);
    const reg = await register(c, 'alice');
    expect(reg.status).toBe(200);
    const profile = (await reg.json()) as Record<string, unknown>;
    expect(Object.keys(profile).sort()).toEqual(['created_at', 'email', 'is_active', 'is_superuser', 'role', 'updated_at', 'user_id', 'username']);
    expect(profile).toMatchObject({ username: 'alice', email: 'alice@example.com', role: 'user', is_active: true, is_superuser: false });

    const login = await c.login('alice', 'password-123');
    expect(login.status).toBe(200);
    const body = (await login.json()) as { csrf_token: string };
    expect(body).toEqual({ message: 'Login successful', username: 'alice', role: 'user', csrf_token: c.jar.get('csrf_token') });

    const me = await c.request('GET', '/api/v1/auth/me');
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual(profile);
  });

  it('session cookies: access_token httpOnly, csrf_token readable, SameSite=Strict, Path=/, Max-Age from settings; Secure behind TLS', async () => {
    const { base } = await start(testSettings({ session_timeout_minutes: 30 }));
    const c = new Client(base);
    await register(c, 'bob');
    await c.login('bob', 'password-123');
    const cookies = Object.fromEntries(c.lastSetCookies.map((l) => [parseSetCookie(l).name, parseSetCookie(l).attrs]));
    expect(cookies['access_token']).toEqual({ path: '/', 'max-age': '1800', httponly: true, samesite: 'Strict' });
    expect(cookies['csrf_token']).toEqual({ path: '/', 'max-age': '1800', samesite: 'Strict' });

    await c.request('POST', '/api/v1/auth/login', { form: { username: 'bob', password: 'password-123' }, headers: { 'x-forwarded-proto': 'https' } });
    for (const line of c.lastSetCookies) expect(parseSetCookie(line).attrs['secure']).toBe(true);
  });

  it('logout clears both cookies and ends the session, even for a replayed token', async () => {
    const { base } = await start();
    const c = new Client(base);
    await register(c, 'carol');
    await c.loginOk('carol', 'password-123');
    const stolen = new Map(c.jar);
    const out = await c.request('POST', '/api/v1/auth/logout');
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ message: 'Logout successful' });
    expect(c.lastSetCookies.map((l) => [parseSetCookie(l).name, parseSetCookie(l).attrs['max-age']]).sort()).toEqual([
      ['access_token', '0'],
      ['csrf_token', '0'],
    ]);
    expect(c.jar.size).toBe(0);
    expect((await c.request('GET', '/api/v1/auth/me')).status).toBe(401);
    const replay = new Client(base);
    for (const [k, v] of stolen) replay.jar.set(k, v);
    expect((await replay.request('GET', '/api/v1/auth/me')).status).toBe(401);
  });

  it('401 with the same body for a wrong password and an unknown user; me without a session is 401', async () => {
    const { base } = await start();
    const c = new Client(base);
    await register(c, 'dave');
    const wrong = await c.login('dave', 'not-the-password');
    const unknown = await c.login('nobody', 'whatever-123');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
    expect(c.jar.size).toBe(0);
    expect(await (await c.request('GET', '/api/v1/auth/me')).json()).toEqual({ detail: 'Not authenticated', type: 'Unauthenticated' });
  });

  it('login: 422 naming missing form fields; usernames are case-insensitive; a stale cookie does not block login', async () => {
    const { base } = await start();
    const c = new Client(base);
    const missing = await c.request('POST', '/api/v1/auth/login', { form: {} });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field).sort()).toEqual(['password', 'username']);
    await register(c, 'Erin');
    c.jar.set('access_token', 'garbage.token.value');
    expect((await c.login('erin', 'password-123')).status).toBe(200);
    expect((await c.request('GET', '/api/v1/auth/me')).status).toBe(200);
  });

  it('register: 409 on a taken username or email (any case), 422 naming password, email, username', async () => {
    const { base } = await start(testSettings({ password_min_length: 12 }));
    const c = new Client(base);
    expect((await register(c, 'frank', 'long-enough-pw')).status).toBe(200);
    const dupName = await register(c, 'FRANK', 'long-enough-pw', 'other@example.com');
    expect(dupName.status).toBe(409);
    expect(await dupName.json()).toMatchObject({ detail: 'Username already registered', type: 'Conflict' });
    const dupEmail = await register(c, 'frank2', 'long-enough-pw', 'Frank@Example.com');
    expect(dupEmail.status).toBe(409);
    expect(await dupEmail.json()).toMatchObject({ detail: 'Email already registered' });
    // The failed attempt released the username it had claimed.
    expect((await register(c, 'frank2', 'long-enough-pw')).status).toBe(200);

    const fields = async (res: Response) => ((await res.json()) as { errors: Array<{ field: string }> }).errors.map((e) => e.field);
    const short = await register(c, 'gina', 'short-pw');
    expect(short.status).toBe(422);
    expect(await fields(short)).toEqual(['password']);
    const badEmail = await c.request('POST', '/api/v1/auth/register', { json: { username: 'gina', email: 'not-an-email', password: 'long-enough-pw' } });
    expect(badEmail.status).toBe(422);
    expect(await fields(badEmail)).toEqual(['email']);
    const badName = await register(c, 'x', 'long-enough-pw', 'x@example.com');
    expect(await fields(badName)).toEqual(['username']);
  });

  it('verify-token returns the session CSRF token, renewing a missing one', async () => {
    const { base } = await start();
    const c = new Client(base);
    await register(c, 'hank');
    await c.loginOk('hank', 'password-123');
    const token = c.jar.get('csrf_token');
    expect(await (await c.request('GET', '/api/v1/auth/verify-token')).json()).toEqual({ valid: true, username: 'hank', role: 'user', csrf_token: token });
    c.jar.delete('csrf_token');
    const renewed = (await (await c.request('GET', '/api/v1/auth/verify-token')).json()) as { csrf_token: string };
    expect(renewed.csrf_token).not.toBe(token);
    expect(c.jar.get('csrf_token')).toBe(renewed.csrf_token);
    expect((await c.request('POST', '/api/v1/execute', { json: EXEC })).status).toBe(200);
  });
});

describe('lockout and deactivation', () => {
  it('locks after max_login_attempts failures (423 even with the right password) until an admin unlocks', async () => {
    const { base } = await start(testSettings({ max_login_attempts: 3, lockout_duration_minutes: 10 }));
    const c = new Client(base);
    const profile = (await (await register(c, 'ivan')).json()) as { user_id: string };
    expect((await c.login('ivan', 'wrong-1')).status).toBe(401);
    expect((await c.login('ivan', 'wrong-2')).status).toBe(401);
    const third = await c.login('ivan', 'wrong-3');
    expect(third.status).toBe(423);
    expect(third.headers.get('retry-after')).toBe('600');
    const right = await c.login('ivan', 'password-123');
    expect(right.status).toBe(423);
    expect(await right.json()).toMatchObject({ type: 'Locked' });

    const admin = new Client(base);
    await admin.loginOk(ADMIN.username, ADMIN.password);
    const view = (await (await admin.request('GET', `/api/v1/admin/users/${profile.user_id}`)).json()) as { locked_until: string | null };
    expect(view.locked_until).not.toBeNull();
    const unlock = await admin.request('POST', `/api/v1/admin/users/${profile.user_id}/unlock`);
    expect(await unlock.json()).toEqual({ user_id: profile.user_id, message: 'Account unlocked' });
    expect((await c.login('ivan', 'password-123')).status).toBe(200);
  });

  it('a success resets the failure count', async () => {
    const { base } = await start(testSettings({ max_login_attempts: 2 }));
    const c = new Client(base);
    await register(c, 'jane');
    expect((await c.login('jane', 'wrong')).status).toBe(401);
    expect((await c.login('jane', 'password-123')).status).toBe(200);
    expect((await c.login('jane', 'wrong')).status).toBe(401);
    expect((await c.login('jane', 'password-123')).status).toBe(200);
  });

  it('a deactivated user is rejected on the next request with a valid cookie, and cannot log in (403)', async () => {
    const { base } = await start();
    const c = new Client(base);
    const { user_id } = (await (await register(c, 'kate')).json()) as { user_id: string };
    await c.loginOk('kate', 'password-123');
    expect((await c.request('GET', '/api/v1/auth/me')).status).toBe(200);
    const admin = new Client(base);
    await admin.loginOk(ADMIN.username, ADMIN.password);
    expect((await admin.request('PUT', `/api/v1/admin/users/${user_id}`, { json: { is_active: false } })).status).toBe(200);
    expect((await c.request('GET', '/api/v1/auth/me')).status).toBe(401);
    const login = await c.login('kate', 'password-123');
    expect(login.status).toBe(403);
    expect(await login.json()).toEqual({ detail: 'Account is disabled', type: 'Forbidden' });
  });

  it("an admin password reset ends the user's sessions", async () => {
    const { base } = await start();
    const c = new Client(base);
    const { user_id } = (await (await register(c, 'liam')).json()) as { user_id: string };
    await c.loginOk('liam', 'password-123');
    const admin = new Client(base);
    await admin.loginOk(ADMIN.username, ADMIN.password);
    const reset = await admin.request('POST', `/api/v1/admin/users/${user_id}/reset-password`, { json: { new_password: 'brand-new-pw' } });
    expect(reset.status).toBe(200);
    expect((await c.request('GET', '/api/v1/auth/me')).status).toBe(401);
    expect((await c.login('liam', 'password-123')).status).toBe(401);
    expect((await c.login('liam', 'brand-new-pw')).status).toBe(200);
  });
});

describe('CSRF', () => {
  const FAILED = { detail: 'CSRF validation failed', type: 'Forbidden' };

  it('a POST with the session cookie needs X-CSRF-Token equal to the cookie and bound to the session', async () => {
    const { base } = await start();
    const c = new Client(base);
    await register(c, 'mia');
    await c.loginOk('mia', 'password-123');
    const without = await c.request('POST', '/api/v1/execute', { json: EXEC, csrf: false });
    expect(without.status).toBe(403);
    expect(await without.json()).toEqual(FAILED);
    const wrong = await c.request('POST', '/api/v1/execute', { json: EXEC, headers: { 'x-csrf-token': 'abc.def' } });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual(FAILED);
    expect((await c.request('POST', '/api/v1/execute', { json: EXEC })).status).toBe(200);
  });

  it("a token from another session is rejected, even when cookie and header agree", async () => {
    const { base } = await start();
    const a = new Client(base);
    const b = new Client(base);
    await register(a, 'nina');
    await a.loginOk('nina', 'password-123');
    await b.loginOk('nina', 'password-123');
    const foreign = b.jar.get('csrf_token')!;
    a.jar.set('csrf_token', foreign);
    const res = await a.request('POST', '/api/v1/execute', { json: EXEC });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(FAILED);
    // Forged tokens (nonce re-used with another MAC) fail too.
    const [nonce] = foreign.split('.');
    a.jar.set('csrf_token', `${nonce}.AAAA`);
    expect((await a.request('POST', '/api/v1/execute', { json: EXEC })).status).toBe(403);
  });

  it('login and register are exempt; requests without a session cookie need no token', async () => {
    const { base } = await start();
    const c = new Client(base);
    c.jar.set('access_token', 'stale');
    expect((await register(c, 'omar')).status).toBe(200);
    expect((await c.login('omar', 'password-123')).status).toBe(200);
    const anonymous = new Client(base);
    expect((await anonymous.request('POST', '/api/v1/auth/logout')).status).toBe(200);
  });
});

describe('secret key', () => {
  it('is generated once in DATA_DIR (0600) and reused: a session survives a restart', async () => {
    let s = await start();
    const c = new Client(s.base);
    await register(c, 'pete');
    await c.loginOk('pete', 'password-123');
    const file = join(dir.path, 'secret.key');
    const key = (await readFile(file, 'utf8')).trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await s.close();
    srv = null;

    s = await start();
    const again = new Client(s.base);
    for (const [k, v] of c.jar) again.jar.set(k, v);
    expect((await again.request('GET', '/api/v1/auth/me')).status).toBe(200);
    expect((await again.request('POST', '/api/v1/execute', { json: EXEC })).status).toBe(200);
    expect((await readFile(file, 'utf8')).trim()).toBe(key);
  });
});
