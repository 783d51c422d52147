/**
 * Choosing and readying a TensorFlow.js backend. The CPU and WASM backends ship with tfjs-rlhf;
 * `@tensorflow/tfjs-node`, `@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-backend-webgpu` and
 * `@tensorflow/tfjs-backend-webgl` are optional peers, imported lazily when asked for or when
 * `'auto'` probes for them.
 * @module
 */
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf';
import { BackendError, ConfigError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { registerWasmKernels } from './wasm-kernels';
import { prepareSimdKernels } from './wasm-simd';
import { internals } from './wasm-heap';
import { setupNodeWebGpu, type WebGpuOptions } from './webgpu-node';
import { rememberWasmPaths } from './wasm-paths';

/** Backend names accepted by {@link useBackend}. */
export type BackendName = 'auto' | 'tensorflow' | 'wasm' | 'cpu' | 'webgpu' | 'webgl';

const KNOWN: readonly BackendName[] = ['auto', 'tensorflow', 'wasm', 'cpu', 'webgpu', 'webgl'];

/** True when running under Node.js (not a browser or worker). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/** Options for {@link useBackend}. */
export interface UseBackendOptions {
  /** Silence tfjs's console banners with `tf.enableProdMode()`. Default `true`. */
  prodMode?: boolean;
  /**
   * Try the GPU build (`@tensorflow/tfjs-node-gpu`) before `@tensorflow/tfjs-node` for `'tensorflow'`.
   * Default `true`.
   */
  preferGpu?: boolean;
  /**
   * Where a browser fetches the wasm backend's binaries from, handed to tfjs-backend-wasm's
   * `setWasmPaths` before that backend first starts: a URL prefix ending in `/`, or a map from each of
   * `tfjs-backend-wasm.wasm`, `tfjs-backend-wasm-simd.wasm` and `tfjs-backend-wasm-threaded-simd.wasm`
   * to its URL (e.g. bundler asset URLs; a map missing one throws {@link ConfigError}). Default: in a
   * browser the binaries are fetched relative to the page; in Node they are read from the package.
   */
  wasmPaths?: string | Readonly<Record<string, string>>;
  /**
   * Let tfjs-backend-wasm start its threaded build where it can (a cross-origin isolated page).
   * Default `false`: the wasm backend runs single-threaded and tfjs-rlhf's own workers use the other
   * cores (`workers`, `setWorkerFactory`), one engine per core instead of threads on top of workers.
   * Set `true` only with an unminified bundle: tfjs-backend-wasm 4.22's threaded build is not safe to
   * minify (tfjs issue #4253), and a minified page's backend then never finishes starting (its pthread
   * workers fail with "ReferenceError: e is not defined"). No effect in Node, where tfjs has no threads.
   */
  wasmThreads?: boolean;
  /**
   * WebGPU in Node (Dawn through the optional `webgpu` package): Dawn flags, software adapters, power
   * preference. Ignored in a browser. Default: see {@link WebGpuOptions}.
   */
  webgpu?: WebGpuOptions;
  /**
   * Receives the WebGPU adapter chosen in Node (`info`) and a warning when `'auto'` skips a backend
   * that is present but fails to start. Default: silent.
   */
  logger?: Logger;
}

/** File names of the wasm backend's binaries (keys of a `wasmPaths` map). */
const WASM_BINARIES: readonly string[] = [
  'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm',
];

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ specifier);
    return true;
  } catch {
    return false;
  }
}

/** How one attempt to set a backend is made. */
interface Attempt {
  options: UseBackendOptions;
  /** Part of `'auto'`: WebGPU in Node must then be a hardware adapter. */
  auto: boolean;
  logger: Logger;
}

async function loadWebGpu(attempt: Attempt): Promise<boolean> {
  if (!isNode()) return tf.findBackendFactory('webgpu') !== null || (await tryImport('@tensorflow/tfjs-backend-webgpu'));
  const adapter = await setupNodeWebGpu(attempt.options.webgpu ?? {}, attempt.auto);
  if (adapter === undefined) return false;
  const name = [adapter.vendor, adapter.architecture, adapter.device].filter((x) => x !== '').join(' ');
  attempt.logger.log('info', `WebGPU adapter: ${name} (${adapter.description}; Dawn flags [${adapter.dawnFlags.join(', ')}])${adapter.software ? ' — a software adapter, slower than wasm' : ''}`, { ...adapter });
  return true;
}

async function loadOptional(name: BackendName, attempt: Attempt): Promise<boolean> {
  switch (name) {
    case 'tensorflow':
      if (tf.findBackendFactory('tensorflow') !== null) return true;
      return ((attempt.options.preferGpu ?? true) && (await tryImport('@tensorflow/tfjs-node-gpu'))) || (await tryImport('@tensorflow/tfjs-node'));
    case 'webgpu':
      return loadWebGpu(attempt);
    case 'webgl':
      return tf.findBackendFactory('webgl') !== null || (await tryImport('@tensorflow/tfjs-backend-webgl'));
    default:
      return true;
  }
}

type ProcessLike = { listeners(e: string): unknown[]; removeListener(e: string, f: unknown): void };

/**
 * The wasm backend's Emscripten glue installs `uncaughtException` / `unhandledRejection` handlers
 * that rethrow, which makes Node print the whole minified glue source for any later uncaught error in
 * the user's program. Remove the handlers it added, restoring Node's default reporting.
 */
async function withoutGlueHandlers<T>(f: () => Promise<T>): Promise<T> {
  const proc = (globalThis as { process?: ProcessLike }).process;
  if (!isNode() || proc === undefined) return f();
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = events.map((e) => new Set(proc.listeners(e)));
  try {
    return await f();
  } finally {
    events.forEach((e, i) => {
      for (const l of proc.listeners(e)) if (!before[i]?.has(l)) proc.removeListener(e, l);
    });
  }
}

function checkWasmPaths(paths: UseBackendOptions['wasmPaths']): void {
  if (paths === undefined || typeof paths === 'string') return;
  const missing = WASM_BINARIES.filter((f) => typeof paths[f] !== 'string');
  if (missing.length > 0) throw new ConfigError('wasmPaths', paths, `needs a URL for each of ${missing.join(', ')}`);
}

async function trySet(name: Exclude<BackendName, 'auto'>, attempt: Attempt): Promise<boolean> {
  const wasmPaths = attempt.options.wasmPaths;
  if (!(await loadOptional(name, attempt))) return false;
  if (tf.findBackendFactory(name) === null) return false;
  if (name === 'wasm') registerWasmKernels();
  try {
    // Only before the first start: setWasmPaths throws once a start has failed, and is moot after one succeeded.
    if (name === 'wasm' && tf.engine().registry.wasm === undefined) {
      if (attempt.options.wasmThreads !== true) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (wasmPaths !== undefined) {
        setWasmPaths(wasmPaths as string | { [file: string]: string });
        rememberWasmPaths(wasmPaths);
      }
    }
    return await withoutGlueHandlers(async () => {
      const ok = await tf.setBackend(name);
      if (ok) await tf.ready();
      // The SIMD kernels, compiled asynchronously (browsers refuse to compile modules over 4 KiB synchronously on the main thread).
      if (ok && name === 'wasm') await prepareSimdKernels(internals(tf.backend()));
      return ok;
    });
  } catch {
    return false;
  }
}

/**
 * Sets and readies a backend and returns its name.
 *
 * `'auto'` picks the fastest one present: in Node `tensorflow` (tfjs-node-gpu / tfjs-node) > `webgpu`
 * (a hardware adapter through the optional `webgpu` package; never a software one) > `wasm` > `cpu`;
 * in a browser `webgpu` > `webgl` > `wasm` > `cpu`. A named backend that cannot be set up throws
 * {@link BackendError}. `useBackend('webgpu')` in Node also accepts a software adapter (llvmpipe).
 */
export async function useBackend(name: BackendName = 'auto', options: UseBackendOptions = {}): Promise<string> {
  if (!KNOWN.includes(name)) throw new ConfigError('useBackend(name)', name, `must be one of ${KNOWN.join(', ')}`);
  checkWasmPaths(options.wasmPaths);
  if (options.wasmThreads !== undefined && typeof options.wasmThreads !== 'boolean') throw new ConfigError('wasmThreads', options.wasmThreads, 'must be a boolean');
  if (options.prodMode ?? true) tf.enableProdMode();
  const logger = options.logger ?? silentLogger;
  if (name !== 'auto') {
    if (!(await trySet(name, { options, auto: false, logger }))) {
      throw new BackendError(name, name === 'webgpu' && isNode()
        ? 'needs the optional packages `webgpu` and `@tensorflow/tfjs-backend-webgpu` and a WebGPU adapter (see docs/backends.md)'
        : name === 'tensorflow' || name === 'webgpu' || name === 'webgl'
          ? 'the optional package for it is not installed or failed to initialise'
          : 'failed to initialise');
    }
    return tf.getBackend();
  }
  const order: Exclude<BackendName, 'auto'>[] = isNode()
    ? ['tensorflow', 'webgpu', 'wasm', 'cpu']
    : ['webgpu', 'webgl', 'wasm', 'cpu'];
  for (const candidate of order) {
    if (await trySet(candidate, { options, auto: true, logger })) return tf.getBackend();
    if (tf.findBackendFactory(candidate) !== null) {
      // Present but failed: say so, since the next candidate may be much slower (wasm -> cpu is ~20x).
      const hint = candidate === 'wasm' && !isNode() ? ' (are its .wasm binaries served? see the wasmPaths option)' : '';
      logger.log('warn', `useBackend('auto'): backend "${candidate}" failed to initialise${hint}; trying the next one`, { backend: candidate });
    }
  }
  throw new BackendError('auto', 'no backend could be initialised');
}
