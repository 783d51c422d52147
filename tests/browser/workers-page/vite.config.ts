// Vite config of the workers test page (tests/browser/workers.test.ts builds it): the library from
// source, its worker entry for the page's module worker, and ES-module workers.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  cacheDir: here('../../../node_modules/.vite/tests-workers-page'),
  base: './',
  resolve: {
    alias: [
      { find: /^tfjs-rlhf$/, replacement: here('../../../src/index.ts') },
      { find: /^tfjs-rlhf\/worker$/, replacement: here('../../../src/parallel/worker-entry.ts') },
      { find: /^@tensorflow\/tfjs-core$/, replacement: here('../../../node_modules/@tensorflow/tfjs-core/dist/index.js') },
    ],
  },
  // The library's worker code has dynamic imports (Node-only paths), which classic workers cannot hold.
  worker: { format: 'es' },
  // Unminified: the page opts into tfjs-backend-wasm's threaded build, which breaks when minified.
  build: { chunkSizeWarningLimit: 8000, minify: false },
});
