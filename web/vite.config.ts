/** Builds the SPA from web/ into web/dist (hashed bundles under assets/), which the platform serves at `/`. */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  plugins: [svelte()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    // The build is timed by whoever runs it; rolldown's per-plugin timing report is noise in test output.
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
});
