/**
 * Choosing and readying a TensorFlow.js backend. The CPU and WASM backends ship with tfjs-rlhf;
 * `@tensorflow/tfjs-node`, `@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-backend-webgpu` and
 * `@tensorflow/tfjs-backend-webgl` are optional peers, imported lazily when asked for or when
 * `'auto'` probes for them.
 * @module
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { tf } from '../tf';
import { BackendError, ConfigError } from '../errors';
import { registerWasmKernels } from './wasm-kernels';

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
}

async function tryImport(specifier: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ specifier);
    return true;
  } catch {
    return false;
  }
}

async function loadOptional(name: BackendName, preferGpu: boolean): Promise<boolean> {
  switch (name) {
    case 'tensorflow':
      if (tf.findBackendFactory('tensorflow') !== null) return true;
      return (preferGpu && (await tryImport('@tensorflow/tfjs-node-gpu'))) || (await tryImport('@tensorflow/tfjs-node'));
    case 'webgpu':
      return tf.findBackendFactory('webgpu') !== null || (await tryImport('@tensorflow/tfjs-backend-webgpu'));
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

async function trySet(name: Exclude<BackendName, 'auto'>, preferGpu: boolean): Promise<boolean> {
  if (!(await loadOptional(name, preferGpu))) return false;
  if (tf.findBackendFactory(name) === null) return false;
  if (name === 'wasm') registerWasmKernels();
  try {
    return await withoutGlueHandlers(async () => {
      const ok = await tf.setBackend(name);
      if (ok) await tf.ready();
      return ok;
    });
  } catch {
    return false;
  }
}

/**
 * Sets and readies a backend and returns its name.
 *
 * `'auto'` picks the fastest one present: in Node `tensorflow` (tfjs-node-gpu / tfjs-node) > `wasm` > `cpu`;
 * in a browser `webgpu` > `webgl` > `wasm` > `cpu`. A named backend that cannot be set up throws
 * {@link BackendError}.
 */
export async function useBackend(name: BackendName = 'auto', options: UseBackendOptions = {}): Promise<string> {
  if (!KNOWN.includes(name)) throw new ConfigError('useBackend(name)', name, `must be one of ${KNOWN.join(', ')}`);
  if (options.prodMode ?? true) tf.enableProdMode();
  const preferGpu = options.preferGpu ?? true;
  if (name !== 'auto') {
    if (!(await trySet(name, preferGpu))) {
      throw new BackendError(name, name === 'tensorflow' || name === 'webgpu' || name === 'webgl'
        ? 'the optional package for it is not installed or failed to initialise'
        : 'failed to initialise');
    }
    return tf.getBackend();
  }
  const order: Exclude<BackendName, 'auto'>[] = isNode()
    ? ['tensorflow', 'wasm', 'cpu']
    : ['webgpu', 'webgl', 'wasm', 'cpu'];
  for (const candidate of order) {
    if (await trySet(candidate, preferGpu)) return tf.getBackend();
  }
  throw new BackendError('auto', 'no backend could be initialised');
}
