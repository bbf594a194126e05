import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, PasswordHasher } from './passwords.js';

const cheap = new PasswordHasher({ N: 2 ** 10, r: 8, p: 1 });

describe('PasswordHasher', () => {
  it('stores its parameters with the hash and verifies the right password only', async () => {
    const hash = await cheap.hash('correct horse');
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(await cheap.verify('correct horse', hash)).toBe(true);
    expect(await cheap.verify('correct horsf', hash)).toBe(false);
    expect(await cheap.verify('', hash)).toBe(false);
  });

  it('salts: the same password hashes differently each time', async () => {
    const [a, b] = await Promise.all([cheap.hash('same'), cheap.hash('same')]);
    expect(a).not.toBe(b);
  });

  it('verifies with the parameters stored in the hash, and asks for a rehash when they differ', async () => {
    const old = await cheap.hash('pw-123456');
    const current = new PasswordHasher({ N: 2 ** 11, r: 8, p: 1 });
    expect(await current.verify('pw-123456', old)).toBe(true);
    expect(current.needsRehash(old)).toBe(true);
    expect(current.needsRehash(await current.hash('pw-123456'))).toBe(false);
  });

  it('never matches a malformed or hostile hash', async () => {
    for (const bad of ['', 'plain', 'scrypt$1024$8$1$c2FsdA$', 'bcrypt$1$2$3$4$5', 'scrypt$1000$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5', 'scrypt$1073741824$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5']) {
      expect(await cheap.verify('x', bad)).toBe(false);
      expect(cheap.needsRehash(bad)).toBe(true);
    }
  });

  it('normalises Unicode so the same visible password matches', async () => {
    const hash = await cheap.hash('caf\u00e9');
    expect(await cheap.verify('cafe\u0301', hash)).toBe(true);
  });

  it('property: verify(p, hash(p)) and not verify(q, hash(p)) for q ≠ p', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), async (p, q) => {
        const hash = await cheap.hash(p);
        expect(await cheap.verify(p, hash)).toBe(true);
        if (p.normalize('NFKC') !== q.normalize('NFKC')) expect(await cheap.verify(q, hash)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('default cost: memory-hard and in the tens of milliseconds; an unknown user costs a verify too', async () => {
    const real = new PasswordHasher();
    expect(128 * DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    const hash = await real.hash('warm-up');
    const time = async (fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      return performance.now() - t;
    };
    const known = await time(() => real.verify('guess', hash));
    const unknown = await time(() => real.dummyVerify('guess'));
    const unknownAgain = await time(() => real.dummyVerify('guess'));
    expect(known).toBeGreaterThan(10);
    expect(known).toBeLessThan(1000);
    // Same work, so the same order of magnitude (loose bounds: other test files run in parallel).
    expect(unknownAgain).toBeGreaterThan(known / 10);
    expect(unknown).toBeGreaterThan(known / 10);
    expect(await real.dummyVerify('guess')).toBe(false);
  });
});
