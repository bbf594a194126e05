import { errors } from '../system/domain/errors.js';
import type { Caller } from '../system/services/types.js';
import type { HttpContext } from './context.js';

/** A caller known to be signed in. */
export type UserCaller = Caller & { userId: string; role: 'user' | 'admin' };

/** The signed-in caller, or 401. Route groups call it first in handlers that need a session. */
export function requireUser(ctx: HttpContext): UserCaller {
  const c = ctx.caller;
  if (c.userId === null || c.role === 'anonymous') throw errors.unauthenticated();
  return c as UserCaller;
}

/** The signed-in admin, or 401 (no session) / 403 (not an admin). */
export function requireAdmin(ctx: HttpContext): UserCaller {
  const c = requireUser(ctx);
  if (c.role !== 'admin') throw errors.forbidden('Admin access required');
  return c;
}
