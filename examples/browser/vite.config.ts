// Vite config of the browser example. `npx vite examples/browser` serves it; `npx vite build examples/browser`
// writes the static site to .tmp/browser-dist.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: here('.'),
  // Keep Vite's dependency cache in the repository's node_modules, not in examples/browser.
  cacheDir: here('../../node_modules/.vite/examples-browser'),
  // Relative asset URLs: the built page works from any directory it is served from.
  base: './',
  resolve: {
    alias: [
      // The library from source, so the page always runs the current code (no `npm run build` first).
      { find: /^tfjs-rlhf$/, replacement: here('../../src/index.ts') },
      { find: /^tfjs-rlhf\/worker$/, replacement: here('../../src/parallel/worker-entry.ts') },
      // One copy of tfjs-core: src/tf.ts imports gradient registrations from its ESM files, so the
      // package entry must be those same files (as in vitest.config.ts).
      { find: /^@tensorflow\/tfjs-core$/, replacement: here('../../node_modules/@tensorflow/tfjs-core/dist/index.js') },
    ],
  },
  // The workers (rlhf-worker.ts) are ES modules: the library's code has dynamic imports.
  worker: { format: 'es' },
  build: {
    outDir: here('../../.tmp/browser-dist'),
    emptyOutDir: true,
    // vega and tfjs are large; the page is a demo, not a size-tuned app.
    chunkSizeWarningLimit: 4000,
  },
  // Dev server: serve tfjs-core's ESM files as they are, never pre-bundled, so src/tf.ts's deep imports
  // and the backends share one copy (a second copy fails with "Cannot evaluate flag 'DEBUG'"). Its
  // CommonJS dependencies still need pre-bundling.
  optimizeDeps: {
    exclude: ['@tensorflow/tfjs-core'],
    include: ['@tensorflow/tfjs-core > seedrandom', '@tensorflow/tfjs-core > long'],
  },
  // The dev server reads src/ and node_modules/ two levels up. Both servers send the headers that make
  // the page cross-origin isolated, so that the trainers can use Web Workers (and tfjs-backend-wasm
  // its threaded build).
  server: { fs: { allow: [here('../..')] }, headers: ISOLATION },
  preview: { headers: ISOLATION },
});
