/** Pieces of the test Kubernetes API server: RBAC request attributes, JSON patch, reading a JSON body. */
import type { IncomingMessage } from 'node:http';

/** What an authorizer is asked about one request, in RBAC terms. */
export interface RequestAttributes {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  apiGroup: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** The RBAC attributes of a REST request (null for paths this server does not serve). */
export function attributesOf(method: string, url: URL): RequestAttributes | null {
  const m = /^\/(?:api\/v1|apis\/([^/]+)\/v1)\/namespaces\/([^/]+)(?:\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?)?$/.exec(url.pathname);
  if (!m) return null;
  const [, group = '', ns, resource, name = '', sub = ''] = m;
  const verbs: Record<string, RequestAttributes['verb']> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  const verb = verbs[method] ?? (url.searchParams.get('watch') === 'true' ? 'watch' : name || !resource ? 'get' : 'list');
  if (!resource) return { verb, apiGroup: '', resource: 'namespaces', subresource: '', namespace: '', name: ns! };
  return { verb, apiGroup: group, resource, subresource: sub, namespace: ns!, name };
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** Applies RFC 6902 add/replace/remove operations (what the backend sends). */
export function applyJsonPatch<T extends object>(obj: T, ops: unknown): T {
  const out = structuredClone(obj) as Record<string, unknown>;
  for (const op of ops as Array<{ op: string; path: string; value?: unknown }>) {
    const parts = op.path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop()!;
    let target = out;
    for (const p of parts) {
      if (typeof target[p] !== 'object' || target[p] === null) throw new Error(`path ${op.path} does not exist`);
      target = target[p] as Record<string, unknown>;
    }
    if (op.op === 'add' || op.op === 'replace') target[last] = structuredClone(op.value);
    else if (op.op === 'remove') delete target[last];
    else throw new Error(`unsupported patch op ${op.op}`);
  }
  return out as T;
}
