/**
 * Password hashing with scrypt (memory-hard, in node's crypto). A hash carries its own parameters:
 * `scrypt$<N>$<r>$<p>$<salt b64url>$<key b64url>`, so the cost can be raised later without breaking old hashes
 * (`needsRehash` tells the login to upgrade them).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** scrypt cost: N (CPU/memory, a power of two), r (block size), p (parallelism). Memory ≈ 128·N·r bytes. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 16 MiB and about 50 ms per hash on a 2-core server: slow for guessing, fine for a login. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const PREFIX = 'scrypt';
/** Refuse stored parameters beyond this (a corrupted or hostile hash must not exhaust memory). */
const MAX_MEMORY_BYTES = 512 * 1024 * 1024;

/** Hashes and verifies passwords; one instance per process (it caches the dummy hash). */
export class PasswordHasher {
  private dummy: Promise<string> | null = null;

  constructor(private readonly params: ScryptParams = DEFAULT_SCRYPT) {}

  /** A new salted hash of `password` with the current parameters. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(password, salt, this.params);
    const { N, r, p } = this.params;
    return [PREFIX, N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
  }

  /** True when `password` matches `stored`; compares in constant time. A malformed hash never matches. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseHash(stored);
    if (!parsed) return false;
    const key = await derive(password, parsed.salt, parsed.params, parsed.key.length);
    return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  }

  /** Spends the same work as a real verify, for unknown users, so timing does not reveal who exists. */
  async dummyVerify(password: string): Promise<false> {
    this.dummy ??= this.hash('dummy password that matches nothing');
    await this.verify(password, await this.dummy);
    return false;
  }

  /** True when `stored` was made with other parameters than the current ones (upgrade it after a login). */
  needsRehash(stored: string): boolean {
    const parsed = parseHash(stored);
    if (!parsed) return true;
    const { N, r, p } = parsed.params;
    return N !== this.params.N || r !== this.params.r || p !== this.params.p || parsed.key.length !== KEY_BYTES;
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams, length = KEY_BYTES): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: memoryOf(params) + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function memoryOf(params: ScryptParams): number {
  return 128 * params.N * params.r * params.p + 128 * params.N * params.r;
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== PREFIX) return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (N === undefined || r === undefined || p === undefined) return null;
  const params = { N, r, p };
  const powerOfTwo = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || !Number.isInteger(r) || r < 1 || !Number.isInteger(p) || p < 1) return null;
  if (memoryOf(params) > MAX_MEMORY_BYTES) return null;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const key = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length < 8 || key.length < 16) return null;
  return { params, salt, key };
}
