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
    clean: ['!parallel-worker.js', '!critic-worker.js', '!gen-worker.js'], // everything but the worker entries, which the second build writes
  },
  {
    // The worker threads' entries (src/parallel/entry.ts finds them next to index.js/.cjs): the
    // data-parallel replica, PPO's critic worker and the generation worker, each one self-contained ESM file, loaded by both
    // the ESM and the CommonJS build.
    ...shared,
    platform: 'node',
    entry: { 'parallel-worker': 'src/parallel/worker.ts', 'critic-worker': 'src/parallel/critic-worker.ts', 'gen-worker': 'src/parallel/gen-worker.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    splitting: false,
  },
]);
