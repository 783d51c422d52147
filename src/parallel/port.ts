/**
 * A worker's line to the main thread, the same in a Node worker thread and in a browser's Web Worker:
 * the message it starts from, sending, receiving, and ending itself. The main thread's side is
 * ./channel.
 * @internal
 * @module
 */
import { RlhfError } from '../errors';
import { isNode } from '../backends/use-backend';
import type { WasmPathsOption } from '../backends/wasm-paths';

/** The kinds of worker the library starts (see ./worker-entry). */
export type WorkerKind = 'replica' | 'critic' | 'gen';


/** How the main thread asks a worker to run its backend. */
export interface BackendSetup {
  /** The backend to start: the main thread's (workers run only on wasm or cpu). */
  backend: 'wasm' | 'cpu';
  /** Absolute URLs of the wasm binaries (browsers: the main thread's, so both load the same files). */
  wasmPaths?: WasmPathsOption;
  /**
   * Whether the main thread's wasm backend runs the SIMD kernels: a worker does the same, so that every
   * replica applies bit-identical updates (the TypeScript fallback rounds differently).
   */
  simd: boolean;
}

/** What a worker starts from: `workerData` in Node, the first message in a browser. */
export interface WorkerStart extends BackendSetup {
  /** Which worker to run. */
  kind: WorkerKind;
  /** Its init message (./protocol, ./critic-protocol or ./gen-protocol). */
  data: unknown;
}

/** The type of the message a browser worker sends instead of the exit event browsers do not have. */
export const EXIT_MESSAGE = 'worker-exit';

/** A worker's connection to the main thread. */
export interface HostPort {
  /** Sends `m`; `transfer` moves those buffers instead of copying them. */
  post(m: unknown, transfer?: ArrayBuffer[]): void;
  /** Calls `f` with each later message, in order. */
  listen(f: (m: unknown) => void): void;
  /** Ends this worker with `code` (a test hook); a browser worker first tells the main thread. */
  exit(code: number): void;
  /** Bytes of JavaScript heap in use, or -1 where the engine does not say. */
  heapUsedBytes(): number;
}

async function nodeHost(): Promise<{ port: HostPort; start: WorkerStart }> {
  const wt = await import('node:worker_threads');
  const { getHeapStatistics } = await import('node:v8');
  const parent = wt.parentPort;
  if (parent === null) throw new RlhfError('the tfjs-rlhf worker entry runs inside a worker thread, not as a program of its own');
  const port: HostPort = {
    post: (m, transfer) => parent.postMessage(m, transfer),
    listen: (f) => { parent.on('message', f); },
    exit: (code) => process.exit(code),
    heapUsedBytes: () => getHeapStatistics().used_heap_size,
  };
  return { port, start: wt.workerData as WorkerStart };
}

/** The parts of a dedicated worker's global scope used here. */
interface WorkerScope {
  postMessage(m: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', f: (e: MessageEvent) => void): void;
  close(): void;
}

function browserHost(): Promise<{ port: HostPort; start: WorkerStart }> {
  const scope = globalThis as unknown as WorkerScope & { WorkerGlobalScope?: unknown; performance?: { memory?: { usedJSHeapSize?: number } } };
  if (scope.WorkerGlobalScope === undefined || typeof scope.postMessage !== 'function') {
    return Promise.reject(new RlhfError("the tfjs-rlhf worker entry ('tfjs-rlhf/worker') runs inside a Web Worker, not on a page"));
  }
  // Messages that arrive before listen() are kept (a browser drops messages nobody listens for).
  let listener: ((m: unknown) => void) | undefined;
  const early: unknown[] = [];
  return new Promise((resolve) => {
    let started = false;
    scope.addEventListener('message', (e) => {
      if (!started) {
        started = true;
        resolve({ port, start: e.data as WorkerStart });
      } else if (listener !== undefined) listener(e.data);
      else early.push(e.data);
    });
    const port: HostPort = {
      post: (m, transfer) => scope.postMessage(m, transfer ?? []),
      listen: (f) => {
        listener = f;
        early.splice(0).forEach(f);
      },
      exit: (code) => {
        scope.postMessage({ type: EXIT_MESSAGE, code });
        scope.close();
      },
      heapUsedBytes: () => scope.performance?.memory?.usedJSHeapSize ?? -1,
    };
  });
}

/** This worker's connection to the main thread and the message it starts from. */
export function connectToHost(): Promise<{ port: HostPort; start: WorkerStart }> {
  return isNode() ? nodeHost() : browserHost();
}
