// The Vite config of the pages that the browser tests and benchmarks build (tests/browser/workers-page,
// bench/browser-page): the library from source (tfjs-rlhf and tfjs-rlhf/worker), one copy of
// tfjs-core, ES-module workers (the library has dynamic imports), and no minifying (the pages can opt
// into tfjs-backend-wasm's threaded build, which breaks when minified).
import { fileURLToPath } from 'node:url';
import type { UserConfig } from 'vite';

const repo = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));

/** The config of the page whose `index.html` is in `root`; `cache` names its Vite cache folder. */
export function libraryPageConfig(root: string, cache: string): UserConfig {
  return {
    root,
    cacheDir: repo(`node_modules/.vite/${cache}`),
    base: './',
    resolve: {
      alias: [
        { find: /^tfjs-rlhf$/, replacement: repo('src/index.ts') },
        { find: /^tfjs-rlhf\/worker$/, replacement: repo('src/parallel/worker-entry.ts') },
        { find: /^@tensorflow\/tfjs-core$/, replacement: repo('node_modules/@tensorflow/tfjs-core/dist/index.js') },
      ],
    },
    worker: { format: 'es' },
    build: { chunkSizeWarningLimit: 8000, minify: false },
  };
}
