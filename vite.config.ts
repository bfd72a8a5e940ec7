import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { ISOLATION_HEADERS } from './src/site/isolation';
import { offlineSite } from './src/site/offline-plugin';

// base './': the built site works from any static host or sub-folder (relative asset paths).
// COOP/COEP (src/site/isolation.ts) make dev and preview cross-origin isolated, so wasm runs
// threaded; the built site gets them from its service worker where the host sets none (offlineSite).
export default defineConfig({
  base: './',
  plugins: [react(), offlineSite()],
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // Two pages: the playground, and the method comparison (issue #5).
    rollupOptions: {
      input: {
        index: fileURLToPath(new URL('./index.html', import.meta.url)),
        compare: fileURLToPath(new URL('./compare.html', import.meta.url)),
      },
    },
  },
  worker: {
    format: 'es',
    // TF.js starts its wasm threads from the *source text* of its threaded module (toString() into a
    // Blob), so that function must survive minification unrenamed: renaming its free variables
    // (`_scriptDir`) breaks every thread with "e is not defined", and compressing drops its
    // `typeof _scriptDir` guard ("_scriptDir is not defined"). Only whitespace may go.
    rolldownOptions: { output: { minify: { mangle: false, compress: false } } },
  },
  server: { host: '127.0.0.1', headers: { ...ISOLATION_HEADERS } },
  preview: { headers: { ...ISOLATION_HEADERS } },
});
