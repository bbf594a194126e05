import { describe, expect, it } from 'vitest';
import type { AccountService } from '../../system/services/accounts.js';
import type { AdminUserService } from '../../system/services/admin-users.js';
import { operationFor, toSchema } from '../openapi.js';
import { Router } from '../router.js';
import type { RouteGroupContext } from '../server.js';
import { adminUserRoutes } from './admin-users.js';
import { authRoutes, LoginForm } from './auth.js';

function table() {
  const router = new Router();
  const ctx = {} as RouteGroupContext;
  authRoutes({ accounts: {} as AccountService })(router, ctx);
  adminUserRoutes({ adminUsers: {} as AdminUserService })(router, ctx);
  return router.list();
}

describe('auth and admin-user route docs', () => {
  it('every route is documented with a summary, a tag, its auth level and a response schema', () => {
    const routes = table();
    expect(routes).toHaveLength(13);
    for (const r of routes) {
      expect(r.doc?.summary, `${r.method} ${r.pattern}`).toBeTruthy();
      expect(r.doc?.tag).toBeTruthy();
      expect(r.doc?.response).toBeDefined();
      expect(r.doc?.auth).toBe(r.pattern.startsWith('/api/v1/admin/') ? 'admin' : r.pattern.endsWith('/me') || r.pattern.endsWith('/verify-token') ? 'user' : 'public');
    }
  });

  it('login is documented as a form; list and delete document their query parameters', () => {
    const routes = table();
    const login = routes.find((r) => r.pattern === '/api/v1/auth/login')!;
    expect(Object.keys(operationFor(login).requestBody?.content ?? {})).toEqual(['application/x-www-form-urlencoded']);
    expect(toSchema(LoginForm, 'input')).toMatchObject({ required: ['username', 'password'] });
    const list = routes.find((r) => r.method === 'GET' && r.pattern === '/api/v1/admin/users/')!;
    expect(operationFor(list).parameters?.map((p) => p.name)).toEqual(['limit', 'offset', 'search', 'role']);
    const del = routes.find((r) => r.method === 'DELETE')!;
    expect(operationFor(del).parameters?.map((p) => p.name)).toEqual(['user_id', 'cascade']);
  });
});
