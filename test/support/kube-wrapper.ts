/** Builds the in-pod wrapper (deploy/runtimes/wrapper) with this machine's Go, once per source version. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SOURCE = join(import.meta.dirname, '../../deploy/runtimes/wrapper');
const GO = ['/usr/local/go/bin/go', '/usr/lib/go/bin/go', '/usr/bin/go'].find((p) => existsSync(p)) ?? 'go';

/** The path of a wrapper binary built from the current source (cached under the temp dir by source hash). */
export async function buildWrapper(): Promise<string> {
  const hash = createHash('sha256');
  for (const f of ['go.mod', 'main.go']) hash.update(await readFile(join(SOURCE, f)));
  const cache = join(tmpdir(), 'integr8s-wrapper');
  const out = join(cache, `wrapper-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(out)) return out;
  await mkdir(cache, { recursive: true });
  const partial = `${out}.${process.pid}`;
  await promisify(execFile)(GO, ['build', '-trimpath', '-ldflags=-s -w', '-o', partial, '.'], {
    cwd: SOURCE,
    env: { PATH: '/usr/local/go/bin:/usr/bin:/bin', HOME: cache, GOCACHE: join(cache, 'gocache'), GOPATH: join(cache, 'gopath'), CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '' },
    timeout: 300_000,
  });
  await rename(partial, out);
  return out;
}
