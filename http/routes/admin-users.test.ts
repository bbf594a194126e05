import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client, startAccountsServer, type AccountsServer } from '../../test/support/accounts-server.js';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';

const ADMIN = { username: 'root', password: 'root-password-1' };
const USERS = '/api/v1/admin/users';

let dir: TempDir;
let srv: AccountsServer;
let admin: Client;
let adminId: string;
beforeEach(async () => {
  dir = await createTempDir('integr8s-admin-users-');
  srv = await startAccountsServer(dir.path, { admin: ADMIN });
  admin = new Client(srv.base);
  await admin.loginOk(ADMIN.username, ADMIN.password);
  adminId = ((await (await admin.request('GET', '/api/v1/auth/me')).json()) as { user_id: string }).user_id;
});
afterEach(async () => {
  await srv.close();
  await dir.cleanup();
});

type View = { user_id: string; username: string; email: string; role: string; is_active: boolean };
const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const fields = async (res: Response) => (await json<{ errors: Array<{ field: string }> }>(res)).errors.map((e) => e.field).sort();

async function create(username: string, extra: Record<string, unknown> = {}): Promise<View> {
  const res = await admin.request('POST', `${USERS}/`, { json: { username, email: `${username}@example.com`, password: 'password-123', ...extra } });
  expect(res.status).toBe(200);
  return json<View>(res);
}

describe('admin users API', () => {
  it('401 anonymous, 403 for a non-admin', async () => {
    expect((await new Client(srv.base).request('GET', `${USERS}/`)).status).toBe(401);
    await create('plain');
    const user = new Client(srv.base);
    await user.loginOk('plain', 'password-123');
    const res = await user.request('GET', `${USERS}/`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ detail: 'Admin access required', type: 'Forbidden' });
    expect((await user.request('POST', `${USERS}/`, { json: { username: 'x1x', email: 'x@example.com', password: 'password-123' } })).status).toBe(403);
  });

  it('create: profile without secrets, the user can log in; 409 on duplicates; 422 naming fields', async () => {
    const view = await create('amy', { role: 'admin' });
    expect(view).toMatchObject({ username: 'amy', email: 'amy@example.com', role: 'admin', is_active: true, failed_login_attempts: 0, locked_until: null });
    expect(JSON.stringify(view)).not.toMatch(/password|hash/);
    const amy = new Client(srv.base);
    await amy.loginOk('amy', 'password-123');
    expect((await amy.request('GET', `${USERS}/`)).status).toBe(200);

    const dup = await admin.request('POST', `${USERS}/`, { json: { username: 'AMY', email: 'new@example.com', password: 'password-123' } });
    expect(dup.status).toBe(409);
    const bad = await admin.request('POST', `${USERS}/`, { json: { username: 'ok_name', email: 'nope', password: 'password-123', role: 'god' } });
    expect(bad.status).toBe(422);
    expect(await fields(bad)).toEqual(['email', 'role']);
    const short = await admin.request('POST', `${USERS}/`, { json: { username: 'ok_name', email: 'ok@example.com', password: 'short' } });
    expect(await fields(short)).toEqual(['password']);
  });

  it('list: pagination, total, search on username/email, role filter, validated query', async () => {
    for (const name of ['ann', 'ben', 'cat', 'dan']) await create(name);
    await create('eve', { email: 'eve@corp.test', role: 'admin' });
    const all = await json<{ users: View[]; total: number; limit: number; offset: number }>(await admin.request('GET', `${USERS}/`));
    expect(all.total).toBe(6);
    expect(all.users.map((u) => u.username)).toEqual(['root', 'ann', 'ben', 'cat', 'dan', 'eve']);
    expect(all).toMatchObject({ limit: 100, offset: 0 });
    const page = await json<{ users: View[]; total: number }>(await admin.request('GET', `${USERS}/?limit=2&offset=2`));
    expect(page.users.map((u) => u.username)).toEqual(['ben', 'cat']);
    expect(page.total).toBe(6);
    const byEmail = await json<{ users: View[]; total: number }>(await admin.request('GET', `${USERS}/?search=CORP`));
    expect(byEmail.users.map((u) => u.username)).toEqual(['eve']);
    const byName = await json<{ users: View[] }>(await admin.request('GET', `${USERS}/?search=an`));
    expect(byName.users.map((u) => u.username)).toEqual(['ann', 'dan']);
    const admins = await json<{ users: View[]; total: number }>(await admin.request('GET', `${USERS}/?role=admin`));
    expect(admins.users.map((u) => u.username)).toEqual(['root', 'eve']);
    const badQuery = await admin.request('GET', `${USERS}/?limit=0&role=owner`);
    expect(badQuery.status).toBe(422);
    expect(await fields(badQuery)).toEqual(['limit', 'role']);
  });

  it('get / put: partial update, renames free the old name, 409 on a taken name, 404 for unknown ids', async () => {
    const bo = await create('bod');
    await create('cyd');
    const got = await json<View>(await admin.request('GET', `${USERS}/${bo.user_id}`));
    expect(got).toEqual(bo);
    const put = await admin.request('PUT', `${USERS}/${bo.user_id}`, { json: { username: 'bob', role: 'admin' } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ username: 'bob', email: 'bod@example.com', role: 'admin' });
    expect((await admin.request('PUT', `${USERS}/${bo.user_id}`, { json: { email: 'CYD@example.com' } })).status).toBe(409);
    expect((await admin.request('PUT', `${USERS}/${bo.user_id}`, { json: { email: 'bad' } })).status).toBe(422);
    await create('bod', { email: 'bod2@example.com' });
    for (const [method, path] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['GET', '/overview'],
      ['POST', '/unlock'],
    ] as const) {
      const res = await admin.request(method, `${USERS}/no-such-id${path}`, method === 'PUT' ? { json: {} } : {});
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.json()).toEqual({ detail: 'User not found', type: 'NotFound' });
    }
  });

  it('put password: 422 naming password when short; a new password works; self-demotion and self-deactivation are refused', async () => {
    const dee = await create('dee');
    expect(await fields(await admin.request('PUT', `${USERS}/${dee.user_id}`, { json: { password: 'short' } }))).toEqual(['password']);
    expect((await admin.request('PUT', `${USERS}/${dee.user_id}`, { json: { password: 'another-password' } })).status).toBe(200);
    expect((await new Client(srv.base).login('dee', 'another-password')).status).toBe(200);
    expect((await admin.request('PUT', `${USERS}/${adminId}`, { json: { role: 'user' } })).status).toBe(400);
    expect((await admin.request('PUT', `${USERS}/${adminId}`, { json: { is_active: false } })).status).toBe(400);
  });

  it('delete: never yourself (400); cascade (default) calls the hooks; cascade=false does not; the name is free again', async () => {
    const self = await admin.request('DELETE', `${USERS}/${adminId}`);
    expect(self.status).toBe(400);
    expect(await self.json()).toEqual({ detail: 'Cannot delete your own account', type: 'BadRequest' });

    const ed = await create('eddy');
    srv.stats.set(ed.user_id, { total: 4, by_status: { completed: 4 } });
    const res = await admin.request('DELETE', `${USERS}/${ed.user_id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ message: `User ${ed.user_id} deleted successfully`, deleted_counts: { executions: 4, user: 1 } });
    expect(srv.deleted).toEqual([ed.user_id]);
    expect((await admin.request('GET', `${USERS}/${ed.user_id}`)).status).toBe(404);

    const fay = await create('fay');
    expect((await admin.request('DELETE', `${USERS}/${fay.user_id}?cascade=false`)).status).toBe(200);
    expect(srv.deleted).toEqual([ed.user_id]);
    expect((await admin.request('DELETE', `${USERS}/${fay.user_id}?cascade=maybe`)).status).toBe(422);
    await create('eddy');
    await create('fay');
  });

  it('a deleted user is signed out on the next request', async () => {
    const gus = await create('gus');
    const c = new Client(srv.base);
    await c.loginOk('gus', 'password-123');
    await admin.request('DELETE', `${USERS}/${gus.user_id}`);
    expect((await c.request('GET', '/api/v1/auth/me')).status).toBe(401);
  });

  it('overview: the user with execution stats', async () => {
    const hal = await create('hal');
    srv.stats.set(hal.user_id, { total: 6, by_status: { completed: 3, failed: 1, error: 1, timeout: 1 } });
    const res = await admin.request('GET', `${USERS}/${hal.user_id}/overview`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      user: { user_id: hal.user_id, username: 'hal' },
      stats: { total: 6, by_status: { completed: 3, failed: 1, error: 1, timeout: 1 } },
      derived_counts: { succeeded: 3, failed: 2, timeout: 1, cancelled: 0, terminal_total: 6 },
      recent_events: [],
    });
  });

  it('reset-password: 422 naming new_password when short, 404 for unknown ids', async () => {
    const ivy = await create('ivy');
    const short = await admin.request('POST', `${USERS}/${ivy.user_id}/reset-password`, { json: { new_password: 'short' } });
    expect(short.status).toBe(422);
    expect(await fields(short)).toEqual(['new_password']);
    expect(await fields(await admin.request('POST', `${USERS}/${ivy.user_id}/reset-password`, { json: {} }))).toEqual(['new_password']);
    expect((await admin.request('POST', `${USERS}/nope/reset-password`, { json: { new_password: 'long-enough-1' } })).status).toBe(404);
    const ok = await admin.request('POST', `${USERS}/${ivy.user_id}/reset-password`, { json: { new_password: 'long-enough-1' } });
    expect(await ok.json()).toEqual({ message: `Password reset successfully for user ${ivy.user_id}` });
    expect((await new Client(srv.base).login('ivy', 'long-enough-1')).status).toBe(200);
  });

  it('admin writes need the CSRF token like every other unsafe request', async () => {
    const res = await admin.request('POST', `${USERS}/`, { json: { username: 'joe', email: 'joe@example.com', password: 'password-123' }, csrf: false });
    expect(res.status).toBe(403);
  });
});
