// The report files' chart script: one self-contained file (dist/bulletin/bulletin.js) that
// `gridwatch report` writes into each report page.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const here = import.meta.dirname;

export default defineConfig({
  build: {
    outDir: 'dist/bulletin',
    emptyOutDir: true,
    lib: { entry: resolve(here, 'src/bulletin/main.js'), name: 'gridwatchBulletin', formats: ['iife'], fileName: () => 'bulletin.js' },
  },
});
