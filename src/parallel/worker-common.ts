/**
 * What every worker thread entry shares: starting its own single-threaded backend, reporting its
 * memory, and turning a throw into an `error` message for the main thread.
 * @internal
 * @module
 */
import { getHeapStatistics } from 'node:v8';
import { tf } from '../tf';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../backends/wasm-kernels';
import type { WorkerMemory } from './protocol';

/** Starts this thread's own backend (a worker does not go through useBackend: no optional peers here). */
export async function startWorkerBackend(name: 'wasm' | 'cpu', who: string): Promise<void> {
  tf.enableProdMode();
  if (name === 'wasm') registerWasmKernels();
  if (!(await tf.setBackend(name))) throw new Error(`${who}: backend ${name} failed to start`);
  await tf.ready();
}

/** This thread's live tensors, JS heap and backend bytes. */
export function workerMemory(): WorkerMemory {
  const backend = tf.backend() as { wasm?: { HEAPU8?: Uint8Array } };
  return {
    numTensors: tf.memory().numTensors,
    heapUsedBytes: getHeapStatistics().used_heap_size,
    backendBytes: backend.wasm?.HEAPU8?.byteLength ?? tf.memory().numBytes,
  };
}

/** The `error` message of a thrown value. */
export function errorMessage(e: unknown): { type: 'error'; name: string; message: string; stack: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'error', name: err.name, message: err.message, stack: err.stack ?? String(err) };
}
