/** A signed-in HTTP session the way a browser holds one: cookies from login, the CSRF header echoed on writes. */
export interface Session {
  userId: string;
  /** Headers to send: the cookies, and X-CSRF-Token (harmless on reads). */
  headers(): Record<string, string>;
}

/** Logs in with the form the SPA uses; throws with the server's answer when it fails. */
export async function login(base: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookies = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const i = pair!.indexOf('=');
    cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
  }
  const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const csrf = decodeURIComponent(cookies.get('csrf_token') ?? '');
  const me = await fetch(`${base}/auth/me`, { headers: { cookie } });
  const { user_id } = (await me.json()) as { user_id: string };
  return { userId: user_id, headers: () => ({ cookie, 'x-csrf-token': csrf }) };
}

/** Lifts every rate limit for a user (an admin session is needed): load tests and long suites are not throttled. */
export async function bypassRateLimits(base: string, admin: Session, userId: string): Promise<void> {
  const res = await fetch(`${base}/admin/rate-limits/${userId}`, {
    method: 'PUT',
    headers: { ...admin.headers(), 'content-type': 'application/json' },
    body: JSON.stringify({ bypass_rate_limit: true, global_multiplier: 1, rules: [], notes: 'test and benchmark client' }),
  });
  if (res.status !== 200) throw new Error(`bypass failed: ${res.status} ${await res.text()}`);
}

/** The admin account the test and bench nodes are started with. */
export const TEST_ADMIN = { username: 'admin', password: 'admin-password-for-tests' } as const;

/** A JSON answer: status, headers and the parsed body (the text when it is not JSON). */
export interface ApiAnswer {
  status: number;
  /** Whatever the route returned, parsed (tests read it freely). */
  body: any;
  headers: Headers;
}

/** A JSON caller of `base` as `session`: `json` becomes the body with its content type. */
export function sessionApi(base: string, session: Session): (path: string, init?: RequestInit & { json?: unknown }) => Promise<ApiAnswer> {
  return async (path, init = {}) => {
    const { json, ...rest } = init;
    const res = await fetch(base + path, {
      ...rest,
      headers: {
        ...session.headers(),
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(rest.headers as Record<string, string>),
      },
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body, headers: res.headers };
  };
}
