// Builds the three pages into dist/, which the center serves (web.root): / (control center),
// /worker (grid worker's phone) and /report (scan to report). Everything is bundled: the pages
// load nothing from the internet.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const here = import.meta.dirname;

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        index: resolve(here, 'index.html'),
        worker: resolve(here, 'worker.html'),
        report: resolve(here, 'report.html'),
      },
    },
  },
  server: {
    // npm run dev against a running center (GRIDWATCH_CENTER, default http://127.0.0.1:18080)
    proxy: Object.fromEntries(['/api', '/open311', '/media', '/buildings', '/web', '/tiles'].map((p) => [
      p, { target: process.env.GRIDWATCH_CENTER || 'http://127.0.0.1:18080', changeOrigin: true },
    ])),
  },
});
