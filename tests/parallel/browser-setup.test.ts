// The browser half of the pool, the parts that run without a browser: where a browser worker fetches
// the wasm binaries (the page's, made absolute), and setWorkerFactory's validation.
// tests/browser/workers.test.ts runs the pool itself in headless Chromium.
import { afterEach, describe, expect, it } from 'vitest';
import { rememberWasmPaths, wasmPathsForWorkers } from '../../src/backends/wasm-paths';
import { setWorkerFactory } from '../../src/parallel/channel';
import { ConfigError } from '../../src/errors';

const g = globalThis as { location?: { href: string } };

afterEach(() => {
  delete g.location;
});

describe('wasm paths for browser workers', () => {
  it('are undefined in Node (workers read the package files) and the page folder by default in a browser', () => {
    expect(wasmPathsForWorkers()).toBeUndefined();
    g.location = { href: 'https://example.test/app/page.html?x=1' };
    expect(wasmPathsForWorkers()).toBe('https://example.test/app/');
  });

  it('make the paths given to useBackend absolute against the page (a worker resolves against its script)', () => {
    g.location = { href: 'https://example.test/app/page.html' };
    rememberWasmPaths('../wasm/');
    expect(wasmPathsForWorkers()).toBe('https://example.test/wasm/');
    rememberWasmPaths({ 'tfjs-backend-wasm.wasm': '/a.wasm', 'tfjs-backend-wasm-simd.wasm': 'b.wasm', 'tfjs-backend-wasm-threaded-simd.wasm': 'https://cdn.test/c.wasm' });
    expect(wasmPathsForWorkers()).toEqual({
      'tfjs-backend-wasm.wasm': 'https://example.test/a.wasm',
      'tfjs-backend-wasm-simd.wasm': 'https://example.test/app/b.wasm',
      'tfjs-backend-wasm-threaded-simd.wasm': 'https://cdn.test/c.wasm',
    });
  });
});

describe('setWorkerFactory', () => {
  it('takes a function or undefined, and names the parameter otherwise', () => {
    expect(() => setWorkerFactory(undefined)).not.toThrow();
    expect(() => setWorkerFactory(() => ({ postMessage() {}, addEventListener() {}, terminate() {} }))).not.toThrow();
    setWorkerFactory(undefined);
    const err = (() => { try { setWorkerFactory('worker.js' as never); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('setWorkerFactory(factory)');
  });
});
