/** Who is signed in: loaded from /auth/me at start, set by login, cleared by logout or a 401. */
import { api, ApiError, onApiFailure } from '../api/client';
import type { LoginResponse, UserProfile } from '../api/types';

class Session {
  user = $state<UserProfile | null>(null);
  /** False until the first /auth/me answered. */
  ready = $state(false);
  /** Set when a signed-in session stopped being accepted (expired or revoked). */
  expired = $state(false);

  get isAdmin(): boolean {
    return this.user?.role === 'admin';
  }

  /** Asks the server who the cookies belong to (and refreshes the CSRF cookie). */
  async load(): Promise<void> {
    try {
      await api.get('/auth/verify-token', { quiet: true });
      this.user = await api.get<UserProfile>('/auth/me', { quiet: true });
    } catch {
      this.user = null;
    } finally {
      this.ready = true;
    }
  }

  async login(username: string, password: string): Promise<void> {
    await api.post<LoginResponse>('/auth/login', { form: { username, password }, quiet: true });
    this.user = await api.get<UserProfile>('/auth/me', { quiet: true });
    this.expired = false;
  }

  async register(username: string, email: string, password: string): Promise<void> {
    await api.post<UserProfile>('/auth/register', { json: { username, email, password }, quiet: true });
  }

  async logout(): Promise<void> {
    try {
      await api.post('/auth/logout', { quiet: true });
    } finally {
      this.user = null;
    }
  }
}

/** The app's session. */
export const session = new Session();

onApiFailure((err: ApiError, path) => {
  if (err.status === 401 && session.user && !path.startsWith('/auth/')) {
    session.user = null;
    session.expired = true;
  }
});
