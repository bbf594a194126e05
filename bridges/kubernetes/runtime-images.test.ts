import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../system/domain/runtimes.js';
import { EXECUTOR_UID } from './pod-spec.js';
import { ImageCatalogue, RUNTIME_IMAGES, WRAPPER_PATH } from './runtime-images.js';

const RUNTIMES_DIR = join(import.meta.dirname, '../../deploy/runtimes');
/** The base image each language's Dockerfile must start its final stage from, for a version. */
const BASE: Record<string, (v: string) => string> = {
  python: (v) => `python:${v}-slim-bookworm`,
  node: (v) => `node:${v}-bookworm-slim`,
  typescript: () => 'node:22-bookworm-slim',
  ruby: (v) => `ruby:${v}-slim-bookworm`,
  go: (v) => `golang:${v}-bookworm`,
  bash: () => 'debian:bookworm-slim',
};

describe('runtime images', () => {
  it('every catalogue entry has its Dockerfile, and every Dockerfile an entry', () => {
    const dirs = readdirSync(RUNTIMES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'wrapper')
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual(RUNTIME_IMAGES.map((i) => `${i.lang}-${i.version}`).sort());
  });

  it('each Dockerfile builds the wrapper, starts from the version it claims, and runs as the executor uid', () => {
    for (const img of RUNTIME_IMAGES) {
      const file = join(RUNTIMES_DIR, `${img.lang}-${img.version}`, 'Dockerfile');
      expect(existsSync(file), file).toBe(true);
      const text = readFileSync(file, 'utf8');
      const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
      expect(froms.at(-1), img.image).toBe(BASE[img.lang]!(img.version));
      expect(text).toContain('COPY wrapper/ .');
      expect(text).toContain(`COPY --from=wrapper /out/wrapper ${WRAPPER_PATH}`);
      expect(text).toContain(`USER ${EXECUTOR_UID}:${EXECUTOR_UID}`);
      expect(img.image).toBe(`integr8s-runtime-${img.lang}:${img.version}`);
    }
  });

  it('the catalogue lists each language once with its versions, and resolves exact versions only', () => {
    const cat = new ImageCatalogue();
    const list = cat.list();
    expect(new Set(list.map((r) => r.lang)).size).toBe(list.length);
    for (const r of list) expect(LANGUAGES).toContain(r.lang);
    expect(cat.find('python')?.versions).toEqual(['3.11', '3.12']);
    expect(cat.resolve('python', '3.12')?.image).toBe('integr8s-runtime-python:3.12');
    expect(cat.resolve('python', '3')).toBeUndefined();
    expect(cat.find('cobol')).toBeUndefined();
  });
});
