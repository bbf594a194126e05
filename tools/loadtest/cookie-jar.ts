/**
 * The cookies of one virtual user, as a browser would keep them for a single origin: set by `Set-Cookie`,
 * removed when expired (`Max-Age=0` or a past `Expires`, as logout does), sent back when the path matches.
 */

interface Cookie {
  value: string;
  path: string;
  /** Epoch ms, or null for a session cookie. */
  expires: number | null;
}

export class CookieJar {
  private readonly cookies = new Map<string, Cookie>();

  /** Applies the `Set-Cookie` header lines of a response. */
  update(setCookie: readonly string[] | undefined, now = Date.now()): void {
    for (const line of setCookie ?? []) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expires: number | null = null;
      let maxAge: number | null = null;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const key = (i < 0 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i < 0 ? '' : attr.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'max-age' && /^-?\d+$/.test(val)) maxAge = Number(val);
        else if (key === 'expires') {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
        }
      }
      if (maxAge !== null) expires = now + maxAge * 1000; // Max-Age wins over Expires
      if (expires !== null && expires <= now) this.cookies.delete(name);
      else this.cookies.set(name, { value, path, expires });
    }
  }

  /** The `Cookie` header for a request path, or undefined when no cookie applies. */
  header(path: string, now = Date.now()): string | undefined {
    const parts: string[] = [];
    for (const [name, c] of this.cookies) {
      if (c.expires !== null && c.expires <= now) {
        this.cookies.delete(name);
        continue;
      }
      if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) parts.push(`${name}=${c.value}`);
    }
    return parts.length > 0 ? parts.join('; ') : undefined;
  }

  /** A cookie's value (percent-decoded), if held. */
  get(name: string): string | undefined {
    const raw = this.cookies.get(name)?.value;
    if (raw === undefined) return undefined;
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  set(name: string, value: string): void {
    this.cookies.set(name, { value, path: '/', expires: null });
  }

  clear(): void {
    this.cookies.clear();
  }
}
