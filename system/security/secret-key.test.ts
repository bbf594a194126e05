import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../../test/support/temp-dir.js';
import { loadOrCreateKeyFile, resolveSecretKey, SECRET_KEY_FILE } from './secret-key.js';

describe('resolveSecretKey', () => {
  it('SECRET_KEY wins and nothing is written', async () => {
    await withTempDir(async (dir) => {
      expect(await resolveSecretKey({ secretKey: 'k'.repeat(40), dataDir: dir })).toBe('k'.repeat(40));
      await expect(stat(join(dir, SECRET_KEY_FILE))).rejects.toThrow();
    });
  });

  it('generates 64 hex characters into DATA_DIR/secret.key (0600) and reuses them', async () => {
    await withTempDir(async (dir) => {
      const first = await resolveSecretKey({ secretKey: null, dataDir: join(dir, 'data') });
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      const file = join(dir, 'data', SECRET_KEY_FILE);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await resolveSecretKey({ secretKey: null, dataDir: join(dir, 'data') })).toBe(first);
    });
  });

  it('concurrent first starts agree on one key', async () => {
    await withTempDir(async (dir) => {
      const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateKeyFile(join(dir, SECRET_KEY_FILE))));
      expect(new Set(keys).size).toBe(1);
      expect((await readFile(join(dir, SECRET_KEY_FILE), 'utf8')).trim()).toBe(keys[0]);
    });
  });

  it('tightens a key file others can read, and refuses a file without a usable key', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, SECRET_KEY_FILE);
      await writeFile(file, 'f'.repeat(64));
      await chmod(file, 0o644);
      expect(await loadOrCreateKeyFile(file)).toBe('f'.repeat(64));
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      await writeFile(file, 'short');
      await expect(loadOrCreateKeyFile(file)).rejects.toThrow(/secret key/);
    });
  });
});
