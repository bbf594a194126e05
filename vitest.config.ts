import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Compiles the SPA's runes modules (web/src/**/*.svelte.ts) for their unit tests; nothing else is touched.
  plugins: [svelte({ configFile: false, compilerOptions: { runes: true } })],
  test: {
    include: ['{actors,system,http,bridges,test,tools}/**/*.test.ts', 'web/{src,e2e}/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
