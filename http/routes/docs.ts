import { createHash } from 'node:crypto';
import { z } from 'zod';
import { buildOpenApi, type OpenApiDocument, type OpenApiInfo, type OpenApiOperation } from '../openapi.js';
import type { RouteInfo } from '../router.js';
import type { RouteGroup } from '../server.js';

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d2330}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}p.lead{color:#555}
table{border-collapse:collapse;width:100%}td{padding:.35rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
code{font:13px/1.4 ui-monospace,monospace}.m{font-weight:700;width:4.5rem}.get{color:#0a6}.post{color:#06c}.put{color:#b70}.delete{color:#c22}.patch{color:#85c}
.auth{color:#777;white-space:nowrap}`;
/** The page's only style sheet is allowed by its hash; nothing else may load or run. */
const PAGE_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A self-contained HTML page listing the document's operations, grouped by tag (no scripts, no CDN). */
export function renderDocsPage(doc: OpenApiDocument): string {
  const groups = new Map<string, Array<{ method: string; path: string; op: OpenApiOperation }>>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag)!.push({ method, path, op });
    }
  }
  const sections = [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tag, ops]) => {
      const rows = ops
        .map(({ method, path, op }) => {
          const params = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
          const query = params.length ? `<br><small>query: ${params.map((p) => `<code>${escape(p)}</code>`).join(', ')}</small>` : '';
          return `<tr><td class="m ${escape(method)}">${escape(method.toUpperCase())}</td><td><code>${escape(path)}</code><br>${escape(op.summary)}${query}</td><td class="auth">${escape(op['x-auth'])}</td></tr>`;
        })
        .join('\n');
      return `<h2>${escape(tag)}</h2>\n<table>\n${rows}\n</table>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(doc.info.title)} API</title><style>${STYLE}</style></head>
<body><h1>${escape(doc.info.title)} API <small>${escape(doc.info.version)}</small></h1>
<p class="lead">${escape(doc.info.description)} Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).
Signed-in routes use the <code>access_token</code> cookie; writes also need <code>X-CSRF-Token</code>.</p>
${sections}
</body></html>`;
}

/**
 * The docs API group: GET /api/v1/openapi.json and GET /api/v1/docs. The document is built from the router the
 * group is registered on, read at request time (so routes of groups registered later are listed too) and rebuilt
 * only when the number of routes changed. `routes` replaces that source (e.g. in tests).
 */
export function docsRoutes(opts: { info?: OpenApiInfo; routes?: () => readonly RouteInfo[] } = {}): RouteGroup {
  return (router) => {
    const list = opts.routes ?? (() => router.list());
    let cached: { count: number; doc: OpenApiDocument; html: string } | null = null;
    const current = () => {
      const routes = list();
      if (cached?.count !== routes.length) {
        const doc = buildOpenApi(routes, opts.info);
        cached = { count: routes.length, doc, html: renderDocsPage(doc) };
      }
      return cached;
    };

    router.get(
      '/api/v1/openapi.json',
      (ctx) => {
        ctx.json(200, current().doc);
      },
      { summary: 'This API as an OpenAPI 3.1 document', tag: 'docs', auth: 'public', response: z.looseObject({ openapi: z.string() }) },
    );

    router.get(
      '/api/v1/docs',
      (ctx) => {
        ctx.send(200, current().html, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP });
      },
      { summary: 'Human-readable list of the operations', tag: 'docs', auth: 'public' },
    );
  };
}
