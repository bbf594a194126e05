/**
 * Builds the SPA into web/dist when its sources changed since the last build (a hash of the sources and the
 * lock file is kept in web/dist/.build-hash). `npm start` runs it first (prestart), the browser tests call
 * `ensureWebBuilt()`, `npm run build:web` forces a build. Concurrent callers wait for one build (a lock dir);
 * the new files replace web/dist in one rename, so a running server never sees a half-written build.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('..', import.meta.url));
const ROOT = join(WEB, '..');
const DIST = join(WEB, 'dist');
const STAMP = join(DIST, '.build-hash');
const LOCK = join(WEB, '.build-lock');
const LOCK_STALE_MS = 5 * 60_000;

/** Inputs of the build: sources (not tests), the HTML shell, configs, static files, and the installed dependency set. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...listFiles(join(WEB, 'src')).filter((f) => !f.endsWith('.test.ts')),
    ...listFiles(join(WEB, 'public')),
    join(WEB, 'index.html'),
    join(WEB, 'vite.config.ts'),
    join(WEB, 'svelte.config.js'),
    join(ROOT, 'package-lock.json'),
  ].sort();
  for (const file of files) {
    if (!existsSync(file)) continue;
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** True when web/dist holds a build of the current sources. */
export function isWebBuildFresh(): boolean {
  try {
    return readFileSync(STAMP, 'utf8').trim() === sourceHash();
  } catch {
    return false;
  }
}

/** Builds web/dist unless it is fresh (or `force`); resolves to whether a build ran. */
export async function ensureWebBuilt(opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<boolean> {
  const log = opts.log ?? (() => {});
  if (!opts.force && isWebBuildFresh()) return false;
  await withLock(async () => {
    if (!opts.force && isWebBuildFresh()) return;
    const hash = sourceHash();
    const tmp = join(WEB, `.dist-${process.pid}-${Date.now()}`);
    log(`building the web app into ${relative(ROOT, DIST)}`);
    const { build } = await import('vite');
    await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn', build: { outDir: tmp, emptyOutDir: true } });
    writeFileSync(join(tmp, '.build-hash'), `${hash}\n`);
    rmSync(DIST, { recursive: true, force: true });
    renameSync(tmp, DIST);
  });
  return true;
}

async function withLock(fn: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`another web build holds ${LOCK}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const force = process.argv.includes('--force');
  try {
    const built = await ensureWebBuilt({ force, log: (line) => console.log(line) });
    if (!built) console.log('web app is up to date (web/dist)');
  } catch (err) {
    const missingVite = (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
    // A production install without dev dependencies serves a build shipped with it, or the API alone.
    if (missingVite && existsSync(join(DIST, 'index.html'))) console.warn('vite is not installed: serving the existing web/dist');
    else if (missingVite) console.warn('vite is not installed and web/dist is missing: the node will serve the API only');
    else throw err;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
