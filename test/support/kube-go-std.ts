/**
 * The go image's /opt/go-std for the test kubelet: deploy/runtimes/go-1.23/build-std.sh run with this machine's Go
 * (the image runs it at build), its importcfg pointed at /opt/go-std where the kubelet binds it. Cached per Go
 * version under the temp dir; the first build takes a minute or more.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SCRIPT = join(import.meta.dirname, '../../deploy/runtimes/go-1.23/build-std.sh');
const GO_DIRS = ['/usr/local/go/bin', '/usr/lib/go/bin'].filter((d) => existsSync(join(d, 'go')));
const ENV = { PATH: [...GO_DIRS, '/usr/bin', '/bin'].join(':'), HOME: tmpdir(), GOTOOLCHAIN: 'local' };

/** The host directory to bind at /opt/go-std. */
export async function buildGoStd(): Promise<string> {
  const run = promisify(execFile);
  const version = (await run('go', ['env', 'GOVERSION'], { env: ENV })).stdout.trim();
  const dir = join(tmpdir(), 'integr8s-go-std', version);
  if (existsSync(join(dir, 'importcfg'))) return dir;
  const partial = `${dir}.${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await run('sh', [SCRIPT, partial], { env: ENV, timeout: 900_000 });
  const cfg = join(partial, 'importcfg');
  await writeFile(cfg, (await readFile(cfg, 'utf8')).replaceAll(`${partial}/`, '/opt/go-std/'));
  await rename(partial, dir).catch(async (err: unknown) => {
    if (!existsSync(join(dir, 'importcfg'))) throw err; // another process won the race
    await rm(partial, { recursive: true, force: true });
  });
  return dir;
}
