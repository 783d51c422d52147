import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: false, // the tarball ships no src/, so maps would point at nothing
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  // tfjs-core registers neither gradients nor chained ops, and Node cannot import its deep ESM paths:
  // bundle just those registration modules; everything else of tfjs stays an external peer.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
  external: ['@tensorflow/tfjs-core', /^@tensorflow\/tfjs-backend-/, /^@tensorflow\/tfjs-node/, 'gpt-tokenizer', /^gpt-tokenizer\//, /^node:/],
  treeshake: true,
});
