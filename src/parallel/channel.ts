/**
 * Starting a worker from the main thread, and the {@link Channel} a {@link WorkerHandle} talks through:
 * a Node worker thread running the bundled entry (`dist/worker.js`), or in a browser a Web Worker
 * made by the page's factory ({@link setWorkerFactory}). Browsers run workers only where the page is
 * cross-origin isolated (the pool's shared memory needs `SharedArrayBuffer`).
 * @module
 */
import { ConfigError, RlhfError, WorkerError } from '../errors';
import { isNode } from '../backends/use-backend';
import { wasmPathsForWorkers } from '../backends/wasm-paths';
import { simdKernels } from '../backends/wasm-simd';
import { internals } from '../backends/wasm-heap';
import { tf } from '../tf';
import { WorkerHandle, type WorkerReply } from './handle';
import { workerEntryUrl } from './entry';
import { EXIT_MESSAGE, type WorkerKind, type WorkerStart } from './port';

/** What a {@link WorkerHandle} hears from its worker. */
export interface ChannelEvents {
  message(m: unknown): void;
  error(name: string, message: string, stack?: string): void;
  exit(code: number): void;
}

/** One worker as the main thread sees it. @internal */
export interface Channel {
  post(m: unknown, transfer?: readonly ArrayBuffer[]): void;
  listen(on: ChannelEvents): void;
  /** Keeps the process alive while the worker runs (Node; a no-op in browsers). */
  ref(): void;
  /** Lets the process exit while the worker runs (Node; a no-op in browsers). */
  unref(): void;
  terminate(): Promise<void>;
}

/**
 * The parts of a browser `Worker` the library uses (structural, so these types need no DOM library).
 * The worker must be a module worker whose script imports `tfjs-rlhf/worker`.
 */
export interface WebWorkerLike {
  /** Sends a message to the worker (the start message, then the pool's requests). */
  postMessage(message: unknown, transfer?: unknown[]): void;
  /** Listens for the worker's replies, its uncaught errors, and messages that could not be read. */
  addEventListener(type: 'message' | 'error' | 'messageerror', listener: (event: { data?: unknown; message?: string; filename?: string; lineno?: number; preventDefault?(): void }) => void): void;
  /** Ends the worker (the pool's `dispose()`). */
  terminate(): void;
}

/** Makes one Web Worker running `tfjs-rlhf/worker`; see {@link setWorkerFactory}. */
export type WorkerFactory = () => WebWorkerLike;

let factory: WorkerFactory | undefined;

/**
 * How a browser page starts the library's workers: a function that returns a new module worker whose
 * script imports `tfjs-rlhf/worker`, so that the page's bundler builds it, e.g. with Vite or webpack 5
 * `setWorkerFactory(() => new Worker(new URL('./rlhf-worker.ts', import.meta.url), { type: 'module' }))`
 * where `rlhf-worker.ts` is the one line `import 'tfjs-rlhf/worker';`. With a factory set and a page
 * that is cross-origin isolated (served with `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`), `workers: 'auto'` uses `navigator.hardwareConcurrency`
 * replicas on the wasm or cpu backend, as Node does with its cores. `undefined` removes the factory
 * (then browsers train in-process). Node needs no factory: it starts the bundled entry itself.
 */
export function setWorkerFactory(f: WorkerFactory | undefined): void {
  if (f !== undefined && typeof f !== 'function') throw new ConfigError('setWorkerFactory(factory)', f, 'must be a function that returns a new Worker, or undefined');
  factory = f;
}

/**
 * Why this browser page cannot start workers, or `undefined` when it can (always `undefined` in Node).
 * @internal
 */
export function browserWorkersMissing(): string | undefined {
  if (isNode()) return undefined;
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (factory === undefined) return 'no worker factory is set (see setWorkerFactory)';
  if (g.crossOriginIsolated !== true || typeof SharedArrayBuffer !== 'function') {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  return undefined;
}

async function nodeChannel(data: WorkerStart): Promise<Channel> {
  const { Worker } = await import('node:worker_threads');
  // No inherited execArgv: the parent's flags (--input-type, -e, a TypeScript loader...) are for its
  // own entry, and some of them stop a worker from starting at all.
  const w = new Worker(await workerEntryUrl(), { workerData: data, execArgv: [] });
  return {
    post: (m, transfer) => w.postMessage(m, transfer as ArrayBuffer[] | undefined),
    listen: (on) => {
      w.on('message', (m: unknown) => on.message(m));
      w.on('error', (e: Error) => on.error(e.name, e.message, e.stack));
      w.on('exit', (code: number) => on.exit(code));
    },
    ref: () => w.ref(),
    unref: () => w.unref(),
    terminate: async () => { await w.terminate(); },
  };
}

function webChannel(w: WebWorkerLike): Channel {
  return {
    post: (m, transfer) => w.postMessage(m, transfer as unknown[] | undefined),
    listen: (on) => {
      w.addEventListener('message', (e) => {
        const m = e.data as { type?: unknown; code?: unknown } | undefined;
        if (m?.type === EXIT_MESSAGE) on.exit(Number(m.code));
        else on.message(e.data);
      });
      w.addEventListener('error', (e) => {
        e.preventDefault?.(); // reported as a WorkerError, not also as the page's uncaught error
        const where = e.filename ? ` (${e.filename}:${e.lineno ?? 0})` : '';
        on.error('Error', `${e.message ?? 'the worker script failed to load (is the factory\'s URL right?)'}${where}`);
      });
      w.addEventListener('messageerror', () => on.error('DataCloneError', 'a message from the worker could not be read'));
    },
    ref: () => undefined,
    unref: () => undefined,
    terminate: async () => w.terminate(),
  };
}

/**
 * Starts a worker of `kind` numbered `index` (in errors) with init message `data`, on the main thread's
 * backend (wasm or cpu: the callers resolved their worker count with that check). In a browser the
 * caller has checked {@link browserWorkersMissing}; a factory that throws gives a {@link WorkerError}.
 * @internal
 */
export async function spawnWorker<I, O extends WorkerReply>(kind: WorkerKind, index: number, data: unknown): Promise<WorkerHandle<I, O>> {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') throw new RlhfError(`internal: workers need the wasm or cpu backend, not ${backend}`);
  const simd = backend === 'wasm' && simdKernels(internals(tf.backend())) !== null;
  if (isNode()) return new WorkerHandle<I, O>(index, await nodeChannel({ kind, data, backend, simd }));
  const f = factory;
  if (f === undefined) throw new WorkerError(index, 'error', 'no worker factory is set (see setWorkerFactory)');
  const start: WorkerStart = { kind, data, backend, simd, wasmPaths: wasmPathsForWorkers() };
  let w: WebWorkerLike;
  try {
    w = f();
  } catch (e) {
    throw new WorkerError(index, 'error', `the worker factory threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  const handle = new WorkerHandle<I, O>(index, webChannel(w));
  w.postMessage(start);
  return handle;
}
