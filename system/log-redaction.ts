/**
 * What never reaches a log line: passwords, tokens, session cookies, secret keys and credentials in URLs, whether
 * they sit under a telling key (`password`, `cookie`, …) or inside a message or an error text. Applied to every
 * line the node's logger writes (see log.ts); logging is off the request path, so a walk of each line is cheap
 * enough.
 */

export const REDACTED = '[redacted]';

/** Keys whose values are secrets whatever they hold (compared lower-case, without `-` and `_`). */
const SECRET_KEYS = new Set(['password', 'passwd', 'newpassword', 'currentpassword', 'secret', 'secretkey', 'token', 'accesstoken', 'refreshtoken', 'csrftoken', 'authorization', 'cookie', 'setcookie', 'apikey', 'privatekey', 'adminpassword']);

/** Keys whose values are user code or program output: large, and not ours to print. */
const CONTENT_KEYS = new Set(['script', 'stdin']);

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/:@]*):([^\s/@]+)@/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/g;
const KEY_VALUE = /\b(password|passwd|secret|token|api[_-]?key|access_token|csrf_token)(["']?\s*[:=]\s*["']?)([^\s"'&,;}]+)/gi;

/** A text with credentials in URLs, JWTs and `password=…`-style pairs replaced. */
export function redactText(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1$2:${REDACTED}@`).replace(JWT, REDACTED).replace(KEY_VALUE, `$1$2${REDACTED}`);
}

const normalise = (key: string) => key.toLowerCase().replace(/[-_]/g, '');

/** A copy of `value` with secrets removed (see above); depth-limited so a cyclic or huge object cannot stall it. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) return redactValue({ type: value.name, message: value.message, stack: value.stack }, depth);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const k = normalise(key);
    out[key] = SECRET_KEYS.has(k) ? REDACTED : CONTENT_KEYS.has(k) && v !== null && v !== undefined ? `[${String(v).length} chars]` : redactValue(v, depth + 1);
  }
  return out;
}
