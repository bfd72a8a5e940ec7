import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// base './': the built site works from any static host or sub-folder (relative asset paths).
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
});
