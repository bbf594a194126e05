/**
 * Route patterns for the report: a request path becomes `/api/v1/scripts/{id}` so that every script's requests
 * land in one row. Known patterns (from the target's OpenAPI document) win; otherwise path segments that look
 * like identifiers (UUIDs, numbers, long hex or random-looking tokens) are replaced by `{id}`.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMBER = /^-?\d+$/;
const HEX = /^[0-9a-f]{16,}$/i;
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/i;
const TOKEN = /^[A-Za-z0-9_~.-]{20,}$/;

/** True when a path segment looks like an identifier rather than a fixed word of the API. */
export function looksLikeId(segment: string): boolean {
  if (segment === '') return false;
  if (UUID.test(segment) || NUMBER.test(segment) || HEX.test(segment) || ULID.test(segment)) return true;
  // Long tokens with digits and letters (JWT-ish, base64url, object ids), but not long words like
  // "reset-password" or "mark-all-read".
  return TOKEN.test(segment) && /\d/.test(segment) && /[A-Za-z]/.test(segment);
}

/** The path without query string or fragment. */
export function stripQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q < 0 ? path : path.slice(0, q);
}

interface CompiledPattern {
  pattern: string;
  segments: (string | null)[]; // null = parameter
  literals: number;
}

/** A set of route patterns such as `/api/v1/scripts/{script_id}`. */
export class RouteTemplates {
  private readonly patterns: CompiledPattern[];

  constructor(patterns: Iterable<string>) {
    this.patterns = [...new Set(patterns)].map((pattern) => {
      const segments = pattern.split('/').map((s) => (/^\{[^}]*\}$/.test(s) ? null : s));
      return { pattern, segments, literals: segments.filter((s) => s !== null).length };
    });
    // Most literal segments first: `/notifications/unread-count` beats `/notifications/{notification_id}`.
    this.patterns.sort((a, b) => b.literals - a.literals);
  }

  /** The matching pattern with every parameter written `{id}`, or null. */
  match(path: string): string | null {
    const parts = stripQuery(path).split('/');
    for (const p of this.patterns) {
      if (p.segments.length !== parts.length) continue;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = p.segments[i];
        if (seg === null) ok = parts[i] !== '';
        else ok = seg === parts[i];
      }
      if (ok) return p.segments.map((s) => (s === null ? '{id}' : s)).join('/');
    }
    return null;
  }
}

/** The route pattern a path is reported under. */
export function templatePath(path: string, templates?: RouteTemplates): string {
  const bare = stripQuery(path) || '/';
  const known = templates?.match(bare);
  if (known) return known;
  return bare
    .split('/')
    .map((segment) => {
      let decoded = segment;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        /* keep it as sent */
      }
      return looksLikeId(decoded) ? '{id}' : segment;
    })
    .join('/');
}
