import { z } from 'zod';
import { USER_ROLES } from '../../system/domain/users.js';
import type { AdminUserService } from '../../system/services/admin-users.js';
import { parseInput } from '../errors.js';
import { requireAdmin } from '../guards.js';
import type { RouteGroup } from '../server.js';
import { Email, Password, UserProfileSchema, Username } from './auth.js';
import { pathParam } from './params.js';

const Role = z.enum(USER_ROLES);
const QueryBool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** GET /admin/users/ query. */
export const ListUsersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
  search: z.string().max(256).optional(),
  role: Role.optional(),
});
/** POST /admin/users/ body. */
export const CreateUserBody = z.object({
  username: Username,
  email: Email,
  password: Password,
  role: Role.optional(),
  is_active: z.boolean().optional(),
});
/** PUT /admin/users/{user_id} body: any subset of the fields. */
export const UpdateUserBody = z.object({
  username: Username.optional(),
  email: Email.optional(),
  role: Role.optional(),
  is_active: z.boolean().optional(),
  password: Password.optional(),
});
/** DELETE /admin/users/{user_id} query: `cascade` (default true) also deletes the user's data. */
export const DeleteUserQuery = z.object({ cascade: QueryBool.default(true) });
/** POST /admin/users/{user_id}/reset-password body. */
export const ResetPasswordBody = z.object({ new_password: Password });

const AdminUser = UserProfileSchema.extend({ failed_login_attempts: z.number().int(), locked_until: z.string().nullable() });
const UserList = z.object({ users: z.array(AdminUser), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
const DeleteResponse = z.object({ message: z.string(), deleted_counts: z.record(z.string(), z.number().int()) });
const Overview = z.object({
  user: AdminUser,
  stats: z.object({ total: z.number().int(), by_status: z.record(z.string(), z.number().int()) }),
  derived_counts: z.record(z.string(), z.number().int()),
  rate_limit_summary: z.object({
    bypass_rate_limit: z.boolean().nullable(),
    global_multiplier: z.number().nullable(),
    has_custom_limits: z.boolean().nullable(),
  }),
  recent_events: z.array(z.unknown()),
});
const MessageResponse = z.object({ message: z.string() });
const UnlockResponse = z.object({ user_id: z.string(), message: z.string() });

/** What the admin users API group needs. */
export interface AdminUserRoutesDeps {
  adminUsers: AdminUserService;
}

/** The admin users API group (role admin): list, create, read, update, delete, overview, reset password, unlock. */
export function adminUserRoutes(deps: AdminUserRoutesDeps): RouteGroup {
  const { adminUsers } = deps;
  const base = '/api/v1/admin/users';
  const doc = { tag: 'admin-users', auth: 'admin' as const };
  return (router) => {
    router.get(
      `${base}/`,
      async (ctx) => {
        requireAdmin(ctx);
        const query = parseInput(ListUsersQuery, Object.fromEntries(ctx.query));
        ctx.json(200, await adminUsers.list(query));
      },
      { ...doc, summary: 'List users (search on username/email, filter by role)', query: ListUsersQuery, response: UserList },
    );

    router.post(
      `${base}/`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await adminUsers.create(parseInput(CreateUserBody, await ctx.body.json())));
      },
      { ...doc, summary: 'Create a user', body: CreateUserBody, response: AdminUser },
    );

    router.get(
      `${base}/{user_id}`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await adminUsers.get(pathParam(ctx, 'user_id')));
      },
      { ...doc, summary: 'One user', response: AdminUser },
    );

    router.put(
      `${base}/{user_id}`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const body = parseInput(UpdateUserBody, await ctx.body.json());
        ctx.json(200, await adminUsers.update(admin.userId, pathParam(ctx, 'user_id'), body));
      },
      { ...doc, summary: 'Change a user (partial)', body: UpdateUserBody, response: AdminUser },
    );

    router.delete(
      `${base}/{user_id}`,
      async (ctx) => {
        const admin = requireAdmin(ctx);
        const query = parseInput(DeleteUserQuery, Object.fromEntries(ctx.query));
        ctx.json(200, await adminUsers.delete(admin.userId, pathParam(ctx, 'user_id'), query.cascade));
      },
      { ...doc, summary: "Delete a user (never yourself); cascade deletes the user's data", query: DeleteUserQuery, response: DeleteResponse },
    );

    router.get(
      `${base}/{user_id}/overview`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await adminUsers.overview(pathParam(ctx, 'user_id')));
      },
      { ...doc, summary: 'A user with execution statistics', response: Overview },
    );

    router.post(
      `${base}/{user_id}/reset-password`,
      async (ctx) => {
        requireAdmin(ctx);
        const body = parseInput(ResetPasswordBody, await ctx.body.json());
        ctx.json(200, await adminUsers.resetPassword(pathParam(ctx, 'user_id'), body.new_password));
      },
      { ...doc, summary: "Set a user's password (ends their sessions)", body: ResetPasswordBody, response: MessageResponse },
    );

    router.post(
      `${base}/{user_id}/unlock`,
      async (ctx) => {
        requireAdmin(ctx);
        ctx.json(200, await adminUsers.unlock(pathParam(ctx, 'user_id')));
      },
      { ...doc, summary: 'Clear a login lockout', response: UnlockResponse },
    );
  };
}
