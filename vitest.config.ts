import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const core = fileURLToPath(new URL('./node_modules/@tensorflow/tfjs-core/dist/index.js', import.meta.url));

export default defineConfig({
  resolve: {
    // One copy of tfjs-core: the gradient registrations are imported from its ESM files (src/tf.ts), so
    // the package entry must be those same ESM files, not the separate CommonJS bundle Node would pick.
    alias: [{ find: /^@tensorflow\/tfjs-core$/, replacement: core }],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    // The WebGPU tests (Mesa llvmpipe through Dawn's GL backend) run with TFJS_RLHF_WEBGPU_TESTS=1
    // (`npm run test:webgpu`, and a separate time-limited step of .ci/run): in one run of three here a
    // Dawn promise never settled and the test file hung past vitest's timeouts, so they are kept out of
    // the main run, where a hang would stall the whole suite.
    exclude: process.env.TFJS_RLHF_WEBGPU_TESTS === '1' ? ['**/node_modules/**'] : ['**/node_modules/**', 'tests/backends/webgpu.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    // Trainers default to workers: 'auto' (a worker thread per core); the suite's two forks already use
    // both cores, so tests run in-process unless they ask for workers (tests/parallel does).
    env: { TFJS_RLHF_WORKERS: '1' },
    server: { deps: { inline: [/@tensorflow\/tfjs-backend-(cpu|wasm)/] } },
  },
});
