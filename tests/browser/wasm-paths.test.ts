// useBackend's `wasmPaths` option (used by the browser example to point tfjs-backend-wasm at bundled
// assets; browser.test.ts shows it working in Chromium). Kept apart from browser.test.ts so that file
// does not load tfjs in the test process.
import { describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backends/use-backend';
import { ConfigError } from '../../src/errors';

describe('useBackend wasmPaths option', () => {
  it('rejects a map that lacks one of the three binaries, naming the option and the missing file', async () => {
    const paths = { 'tfjs-backend-wasm.wasm': '/a.wasm', 'tfjs-backend-wasm-simd.wasm': '/b.wasm' };
    const err = await useBackend('wasm', { wasmPaths: paths }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).param).toBe('wasmPaths');
    expect((err as ConfigError).value).toBe(paths);
    expect((err as ConfigError).message).toContain('tfjs-backend-wasm-threaded-simd.wasm');
  });

  it('rejects a wasmThreads that is not a boolean, naming the option', async () => {
    const err = await useBackend('wasm', { wasmThreads: 'yes' as unknown as boolean }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).param).toBe('wasmThreads');
  });
});
