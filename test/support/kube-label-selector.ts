/** Kubernetes label selectors (the `labelSelector` query parameter): parse once, match many. */

type Requirement =
  | { op: '=' | '!='; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'exists' | '!exists'; key: string };

/** Splits on commas that are not inside parentheses. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current);
  return out.map((t) => t.trim()).filter(Boolean);
}

function requirement(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) return { op: set[2] as 'in' | 'notin', key: set[1]!, values: set[3]!.split(',').map((v) => v.trim()).filter(Boolean) };
  const neq = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(term);
  if (neq) return { op: '!=', key: neq[1]!, value: neq[2]! };
  const eq = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(term);
  if (eq) return { op: '=', key: eq[1]!, value: eq[2]! };
  if (/^!\S+$/.test(term)) return { op: '!exists', key: term.slice(1) };
  if (/^\S+$/.test(term)) return { op: 'exists', key: term };
  throw new Error(`unable to parse requirement: ${term}`);
}

/** A matcher for a selector; throws on a malformed one (the API answers 400). */
export function parseSelector(selector: string | null | undefined): (labels: Record<string, string> | undefined) => boolean {
  const reqs = terms(selector ?? '').map(requirement);
  return (labels = {}) =>
    reqs.every((r) => {
      const has = Object.prototype.hasOwnProperty.call(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case '=':
          return v === r.value;
        case '!=':
          return v !== r.value;
        case 'in':
          return has && r.values.includes(v!);
        case 'notin':
          return !has || !r.values.includes(v!);
        case 'exists':
          return has;
        case '!exists':
          return !has;
      }
    });
}
