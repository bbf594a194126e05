/**
 * The node's secret key (signs session JWTs and CSRF tokens). SECRET_KEY wins when set; otherwise embedded mode
 * keeps a generated key in `DATA_DIR/secret.key` (mode 0600) so sessions survive restarts.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The file under DATA_DIR that holds a generated key. */
export const SECRET_KEY_FILE = 'secret.key';

/** Shortest key accepted from the file (SECRET_KEY itself is checked by the config). */
const MIN_LENGTH = 32;

/** The configured key, or the one kept in `dataDir` (generated there on first use). */
export async function resolveSecretKey(config: { secretKey: string | null; dataDir: string }): Promise<string> {
  if (config.secretKey !== null) return config.secretKey;
  return loadOrCreateKeyFile(join(config.dataDir, SECRET_KEY_FILE));
}

/**
 * Reads the key file, creating it with 32 random bytes (64 hex characters) when absent. Creation is exclusive
 * (`wx`), so two processes starting at once end up with the same key. A file readable by others is tightened.
 */
export async function loadOrCreateKeyFile(file: string): Promise<string> {
  await mkdir(join(file, '..'), { recursive: true });
  const generated = randomBytes(32).toString('hex');
  try {
    await writeFile(file, `${generated}\n`, { flag: 'wx', mode: 0o600 });
    return generated;
  } catch (err) {
    if (!isExists(err)) throw err;
  }
  const key = await readKey(file);
  if ((await stat(file)).mode & 0o077) await chmod(file, 0o600);
  return key;
}

async function readKey(file: string): Promise<string> {
  // A concurrent creator may not have written its bytes yet: give it a moment.
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = (await readFile(file, 'utf8')).trim();
    if (key.length >= MIN_LENGTH) return key;
    if (key.length > 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} does not hold a secret key of at least ${MIN_LENGTH} characters; remove it or set SECRET_KEY`);
}

function isExists(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EEXIST';
}
