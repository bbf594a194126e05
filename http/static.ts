/**
 * Serves the built SPA (web/dist) at `/`: the files are read into memory once at boot, so a request can only
 * ever get one of them (no path reaches the file system, hence no traversal). Paths outside `/api/` that name
 * no file fall back to index.html, so the SPA's own router handles `/editor`, `/admin/users` and the like.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { HttpContext } from './context.js';

/** Vite puts content-hashed bundles here: their bytes never change under the same name. */
const HASHED_PREFIX = '/assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/**
 * The page's policy: scripts, connections and everything else only from this origin, as for the API
 * (`default-src 'self'`), plus inline style attributes, which the code editor (CodeMirror) sets on its
 * elements (tab size, gutter heights). No inline or foreign script can run.
 */
export const DOCUMENT_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";
/** Below this size gzip costs more than it saves. */
const GZIP_MIN_BYTES = 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const COMPRESSIBLE = /^(text\/|application\/(json|manifest\+json)|image\/svg\+xml)/;

/** One file of the site, ready to send. */
interface SiteFile {
  body: Buffer;
  gzipped: Buffer | null;
  contentType: string;
  cacheControl: string;
  etag: string;
}

/** The built SPA held in memory; `serve` answers GET/HEAD for non-API paths. */
export interface StaticSite {
  /** How many files were loaded. */
  readonly fileCount: number;
  /** Answers the request if it is a GET or HEAD outside `/api/`; returns false when it is not the site's to answer. */
  serve(ctx: HttpContext): boolean;
}

/** Loads every file under `dir`; null when the directory has no index.html (the SPA was not built). */
export function loadStaticSite(dir: string): StaticSite | null {
  let indexExists = false;
  try {
    indexExists = statSync(join(dir, 'index.html')).isFile();
  } catch {
    return null;
  }
  if (!indexExists) return null;
  const files = new Map<string, SiteFile>();
  for (const path of walk(dir)) {
    const urlPath = '/' + relative(dir, path).split(sep).join('/');
    files.set(urlPath, siteFile(urlPath, readFileSync(path)));
  }
  const index = files.get('/index.html')!;
  return {
    fileCount: files.size,
    serve: (ctx) => {
      if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.path === '/api' || ctx.path.startsWith('/api/')) return false;
      const file = files.get(ctx.path === '/' ? '/index.html' : ctx.path);
      if (file) {
        sendFile(ctx, file);
        return true;
      }
      // A missing asset is a 404, not the page: a browser would otherwise try to run HTML as a script.
      if (looksLikeFile(ctx.path)) return false;
      sendFile(ctx, index);
      return true;
    },
  };
}

/** Whether a path names a file (under /assets/, or with an extension) rather than an SPA route. */
export function looksLikeFile(path: string): boolean {
  if (path.startsWith(HASHED_PREFIX)) return true;
  const last = path.slice(path.lastIndexOf('/') + 1);
  return /\.[A-Za-z0-9]{1,12}$/.test(last);
}

function siteFile(urlPath: string, body: Buffer): SiteFile {
  const contentType = CONTENT_TYPES[extname(urlPath).toLowerCase()] ?? 'application/octet-stream';
  const gzipped = COMPRESSIBLE.test(contentType) && body.length >= GZIP_MIN_BYTES ? gzipSync(body, { level: 9 }) : null;
  return {
    body,
    gzipped: gzipped && gzipped.length < body.length ? gzipped : null,
    contentType,
    cacheControl: urlPath.startsWith(HASHED_PREFIX) ? IMMUTABLE : REVALIDATE,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
  };
}

function sendFile(ctx: HttpContext, file: SiteFile): void {
  const headers: Record<string, string> = {
    'content-type': file.contentType,
    'cache-control': file.cacheControl,
    etag: file.etag,
    vary: 'Accept-Encoding',
  };
  if (file.contentType.startsWith('text/html')) headers['content-security-policy'] = DOCUMENT_CSP;
  const ifNoneMatch = ctx.header('if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag)) {
    ctx.send(304, null, headers);
    return;
  }
  const gzip = file.gzipped !== null && /\bgzip\b/.test(ctx.header('accept-encoding') ?? '');
  if (gzip) headers['content-encoding'] = 'gzip';
  ctx.send(200, gzip ? file.gzipped : file.body, headers);
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // Dotfiles (the build's own stamp) are not part of the site.
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}
