import { defineConfig, type Options } from 'tsup';

const shared: Options = {
  sourcemap: false, // the tarball ships no src/, so maps would point at nothing
  target: 'es2022',
  platform: 'neutral',
  // tfjs-core registers neither gradients nor chained ops, and Node cannot import its deep ESM paths:
  // bundle just those registration modules; everything else of tfjs stays an external peer.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  external: ['@tensorflow/tfjs-core', 'webgpu', /^@tensorflow\/tfjs-backend-/, /^@tensorflow\/tfjs-node/, 'gpt-tokenizer', /^gpt-tokenizer\//, /^node:/],
  treeshake: true,
};

export default defineConfig([
  {
    ...shared,
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    clean: ['!worker.js', '!worker.d.ts'], // everything but the worker entry, which the second build writes
  },
  {
    // The workers' entry, one self-contained ESM file for every kind (data-parallel replica, PPO's
    // critic, generation): Node worker threads run it from next to index.js/.cjs (src/parallel/entry.ts),
    // from both the ESM and the CommonJS build; a browser page's module worker imports it as
    // `tfjs-rlhf/worker`, its bundler resolving tfjs (setWorkerFactory).
    ...shared,
    entry: { worker: 'src/parallel/worker-entry.ts' },
    format: ['esm'],
    dts: true,
    clean: false,
    splitting: false,
  },
]);
