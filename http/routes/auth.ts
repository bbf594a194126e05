import { z } from 'zod';
import { USER_ROLES } from '../../system/domain/users.js';
import { ACCESS_COOKIE, CSRF_COOKIE } from '../../system/security/sessions.js';
import type { AccountService } from '../../system/services/accounts.js';
import { clearSessionCookies, readForm, setCsrfCookie, setSessionCookies } from '../cookies.js';
import { parseInput } from '../errors.js';
import { requireUser } from '../guards.js';
import type { RouteGroup } from '../server.js';

/** A username as the API accepts it on sign-up and in the admin API. */
export const Username = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');
/** An email address (unique per account, compared case-insensitively). */
export const Email = z.email().max(254);
/** A password on the wire; the minimum length is the admin setting `password_min_length`, checked by the service. */
export const Password = z.string().min(1).max(1024);

/** The profile GET /auth/me and POST /auth/register return. */
export const UserProfileSchema = z.object({
  user_id: z.string(),
  username: z.string(),
  email: z.string(),
  role: z.enum(USER_ROLES),
  is_active: z.boolean(),
  is_superuser: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

/** POST /auth/login form fields. */
export const LoginForm = z.object({ username: z.string().min(1).max(256), password: Password });
/** POST /auth/register body. */
export const RegisterBody = z.object({ username: Username, email: Email, password: Password });

const LoginResponse = z.object({ message: z.string(), username: z.string(), role: z.enum(USER_ROLES), csrf_token: z.string() });
const MessageResponse = z.object({ message: z.string() });
const VerifyResponse = z.object({ valid: z.literal(true), username: z.string(), role: z.enum(USER_ROLES), csrf_token: z.string() });

/** What the auth API group needs. */
export interface AuthRoutesDeps {
  accounts: AccountService;
}

/** The auth API group: login, register, logout, me, verify-token. Sessions live in cookies (see http/cookies.ts). */
export function authRoutes(deps: AuthRoutesDeps): RouteGroup {
  const { accounts } = deps;
  const tag = 'auth';
  return (router) => {
    router.post(
      '/api/v1/auth/login',
      async (ctx) => {
        const form = parseInput(LoginForm, await readForm(ctx));
        const { session, user, maxAgeSeconds } = await accounts.login(form.username, form.password);
        setSessionCookies(ctx, session, maxAgeSeconds);
        ctx.json(200, { message: 'Login successful', username: user.username, role: user.role, csrf_token: session.csrfToken });
      },
      { summary: 'Log in; sets the access_token and csrf_token cookies', tag, body: LoginForm, bodyType: 'form', response: LoginResponse, auth: 'public' },
    );

    router.post(
      '/api/v1/auth/register',
      async (ctx) => {
        const body = parseInput(RegisterBody, await ctx.body.json());
        ctx.json(200, await accounts.register(body));
      },
      { summary: 'Create an account (role user)', tag, body: RegisterBody, response: UserProfileSchema, auth: 'public' },
    );

    router.post(
      '/api/v1/auth/logout',
      async (ctx) => {
        await accounts.logout(ctx.cookie(ACCESS_COOKIE));
        clearSessionCookies(ctx);
        ctx.json(200, { message: 'Logout successful' });
      },
      { summary: 'End the session and clear both cookies', tag, response: MessageResponse, auth: 'public' },
    );

    router.get(
      '/api/v1/auth/me',
      async (ctx) => {
        ctx.json(200, await accounts.me(requireUser(ctx)));
      },
      { summary: "The signed-in user's profile", tag, response: UserProfileSchema, auth: 'user' },
    );

    router.get(
      '/api/v1/auth/verify-token',
      async (ctx) => {
        requireUser(ctx);
        // Hands the SPA its CSRF token after a reload; a missing or stale one is replaced (with its cookie).
        const s = await accounts.verifySession(ctx.cookie(ACCESS_COOKIE), ctx.cookie(CSRF_COOKIE));
        if (s.renewed) setCsrfCookie(ctx, s.csrfToken, s.maxAgeSeconds);
        ctx.json(200, { valid: true, username: s.user.username, role: s.user.role, csrf_token: s.csrfToken });
      },
      { summary: 'Check the session; returns its CSRF token', tag, response: VerifyResponse, auth: 'user' },
    );
  };
}
