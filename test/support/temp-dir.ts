/** Temporary directories (a test's DATA_DIR) that are removed again. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory and the function that removes it with everything inside. */
export interface TempDir {
  path: string;
  cleanup(): Promise<void>;
}

/** Creates an empty directory under the OS temp dir, named with `prefix`. */
export async function createTempDir(prefix = 'integr8s-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Runs `body` with a fresh temporary directory and always removes it afterwards. */
export async function withTempDir<T>(body: (path: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await createTempDir(prefix);
  try {
    return await body(dir.path);
  } finally {
    await dir.cleanup();
  }
}
