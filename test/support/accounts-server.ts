/** A real HTTP server with the accounts feature on a real SQLite store, and a fetch client with a cookie jar. */
import { adminUserRoutes } from '../../http/routes/admin-users.js';
import { authRoutes } from '../../http/routes/auth.js';
import { createHttpServer, type HttpServer } from '../../http/server.js';
import { FakeExecutions, FakeHealth, MemoryLog } from '../../http/test-support.js';
import type { AdminSettings } from '../../system/domain/admin-settings.js';
import type { ExecutionStats } from '../../system/domain/users.js';
import { createSqliteDocumentStore } from '../../system/embedded/document-store.js';
import { openDataDir } from '../../system/embedded/sqlite.js';
import type { DocumentStore } from '../../system/ports/document-store.js';
import { PasswordHasher } from '../../system/security/passwords.js';
import { resolveSecretKey } from '../../system/security/secret-key.js';
import { SessionTokens } from '../../system/security/sessions.js';
import { AccountService, createCallerResolver, createCsrfVerifier } from '../../system/services/accounts.js';
import { AdminUserService } from '../../system/services/admin-users.js';
import { RevokedSessions, UserStore } from '../../system/stores/user-store.js';

/** Settings as an admin would leave them; tests change fields of the live object. */
export function testSettings(overrides: Partial<AdminSettings> = {}): AdminSettings {
  return {
    max_timeout_seconds: 300,
    memory_limit: '256Mi',
    cpu_limit: '1000m',
    max_concurrent_executions: 10,
    password_min_length: 8,
    session_timeout_minutes: 60,
    max_login_attempts: 3,
    lockout_duration_minutes: 15,
    log_level: 'info',
    enable_tracing: false,
    sampling_rate: 0.1,
    ...overrides,
  };
}

/** A running accounts server and the parts behind it. */
export interface AccountsServer {
  base: string;
  server: HttpServer;
  store: DocumentStore;
  users: UserStore;
  accounts: AccountService;
  adminUsers: AdminUserService;
  settings: AdminSettings;
  /** User ids the cascade hook was called with. */
  deleted: string[];
  stats: Map<string, ExecutionStats>;
  close(): Promise<void>;
}

/** Boots createHttpServer on port 0 with the auth and admin-user groups over `DATA_DIR/integr8s.db`. */
export async function startAccountsServer(dataDir: string, opts: { settings?: AdminSettings; admin?: { username: string; password: string } } = {}): Promise<AccountsServer> {
  const store = createSqliteDocumentStore(openDataDir(dataDir));
  const settings = opts.settings ?? testSettings();
  const tokens = new SessionTokens(await resolveSecretKey({ secretKey: null, dataDir }));
  const passwords = new PasswordHasher();
  const users = new UserStore(store);
  const accounts = new AccountService({ users, revoked: new RevokedSessions(store), tokens, passwords, settings: () => settings });
  if (opts.admin) await accounts.ensureAdmin(opts.admin.username, opts.admin.password);
  const deleted: string[] = [];
  const stats = new Map<string, ExecutionStats>();
  const adminUsers = new AdminUserService({
    users,
    passwords,
    settings: () => settings,
    executionStats: async (id) => stats.get(id) ?? { total: 0, by_status: {} },
    onUserDeleted: [
      async (id) => {
        deleted.push(id);
        return { executions: stats.get(id)?.total ?? 0 };
      },
    ],
  });
  const server = createHttpServer({
    executions: new FakeExecutions(),
    health: new FakeHealth(),
    log: new MemoryLog(),
    resolveCaller: createCallerResolver(accounts),
    csrf: createCsrfVerifier(tokens),
    routes: [authRoutes({ accounts }), adminUserRoutes({ adminUsers })],
    config: { host: '127.0.0.1', port: 0, maxBodyBytes: 1024 * 1024, corsOrigins: [], sseHeartbeatMs: 15_000, sseMaxBufferedBytes: 65_536, shutdownGraceMs: 200 },
  });
  const { port } = await server.listen();
  return {
    base: `http://127.0.0.1:${port}`,
    server,
    store,
    users,
    accounts,
    adminUsers,
    settings,
    deleted,
    stats,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}

/** What a request sends besides method and path. */
export interface RequestOptions {
  json?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** Send X-CSRF-Token from the jar on unsafe methods (default true). */
  csrf?: boolean;
}

/** A browser-like client: keeps cookies from Set-Cookie and sends them back; adds X-CSRF-Token like the SPA. */
export class Client {
  readonly jar = new Map<string, string>();
  /** Raw Set-Cookie lines of the last response. */
  lastSetCookies: string[] = [];

  constructor(private readonly base: string) {}

  /** Sends a request with the jar's cookies. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    if (this.jar.size) headers['cookie'] = [...this.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    const csrf = this.jar.get('csrf_token');
    if (opts.csrf !== false && method !== 'GET' && csrf !== undefined) headers['x-csrf-token'] ??= csrf;
    let body: string | undefined;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const line of this.lastSetCookies) this.store(line);
    return res;
  }

  /** POST /auth/login as a form. */
  login(username: string, password: string): Promise<Response> {
    return this.request('POST', '/api/v1/auth/login', { form: { username, password } });
  }

  /** Logs in and fails loudly if that did not work. */
  async loginOk(username: string, password: string): Promise<void> {
    const res = await this.login(username, password);
    if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${await res.text()}`);
  }

  private store(line: string): void {
    const [pair = '', ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const removed = attrs.some((a) => /^max-age=0$/i.test(a));
    if (removed) this.jar.delete(name);
    else this.jar.set(name, decodeURIComponent(pair.slice(eq + 1)));
  }
}

/** Parses one Set-Cookie line into its name, value and lower-cased attributes. */
export function parseSetCookie(line: string): { name: string; value: string; attrs: Record<string, string | true> } {
  const [pair = '', ...rest] = line.split(';').map((s) => s.trim());
  const eq = pair.indexOf('=');
  const attrs: Record<string, string | true> = {};
  for (const a of rest) {
    const i = a.indexOf('=');
    if (i < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
  }
  return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attrs };
}
