// Vite config of the browser benchmark page (bench/browser.ts builds it): the library from source, its
// worker entry for the page's module worker, ES-module workers, and no minifying (the page can opt
// into tfjs-backend-wasm's threaded build, which breaks when minified).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  cacheDir: here('../../node_modules/.vite/bench-browser-page'),
  base: './',
  resolve: {
    alias: [
      { find: /^tfjs-rlhf$/, replacement: here('../../src/index.ts') },
      { find: /^tfjs-rlhf\/worker$/, replacement: here('../../src/parallel/worker-entry.ts') },
      { find: /^@tensorflow\/tfjs-core$/, replacement: here('../../node_modules/@tensorflow/tfjs-core/dist/index.js') },
    ],
  },
  worker: { format: 'es' },
  build: { chunkSizeWarningLimit: 8000, minify: false },
});
