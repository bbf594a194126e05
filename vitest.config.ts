import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{actors,system,http,bridges,test,tools}/**/*.test.ts', 'web/{src,e2e}/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
