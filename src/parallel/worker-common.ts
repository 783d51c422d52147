/**
 * What every worker shares: starting its own single-threaded backend, reporting its memory, and
 * turning a throw into an `error` message for the main thread.
 * @internal
 * @module
 */
import { tf } from '../tf';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from '../backends/wasm-kernels';
import { prepareSimdKernels, setSimdKernels, simdKernels } from '../backends/wasm-simd';
import { internals } from '../backends/wasm-heap';
import type { BackendSetup, HostPort } from './port';
import type { WorkerMemory } from './protocol';

/**
 * Starts this worker's own backend (a worker does not go through useBackend: no optional peers here).
 * The wasm backend runs single-threaded: the pool is what uses the other cores (in a cross-origin
 * isolated page tfjs would otherwise start its own threads inside every worker).
 */
export async function startWorkerBackend(who: string, setup: BackendSetup): Promise<void> {
  tf.enableProdMode();
  setSimdKernels(setup.simd);
  const { backend: name, wasmPaths } = setup;
  if (name === 'wasm') {
    registerWasmKernels();
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (wasmPaths !== undefined) setWasmPaths(wasmPaths as string | { [file: string]: string });
  }
  if (!(await tf.setBackend(name))) throw new Error(`${who}: backend ${name} failed to start`);
  await tf.ready();
  if (name !== 'wasm') return;
  await prepareSimdKernels(internals(tf.backend()));
  // Replicas must round alike: a worker that cannot run the kernels the main thread runs would drift.
  if (setup.simd && simdKernels(internals(tf.backend())) === null) throw new Error(`${who}: the SIMD kernels the main thread runs cannot run here`);
}

/** This worker's live tensors, JS heap and backend bytes. */
export function workerMemory(port: HostPort): WorkerMemory {
  const backend = tf.backend() as { wasm?: { HEAPU8?: Uint8Array } };
  return {
    numTensors: tf.memory().numTensors,
    heapUsedBytes: port.heapUsedBytes(),
    backendBytes: backend.wasm?.HEAPU8?.byteLength ?? tf.memory().numBytes,
  };
}

/** The `error` message of a thrown value. */
export function errorMessage(e: unknown): { type: 'error'; name: string; message: string; stack: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'error', name: err.name, message: err.message, stack: err.stack ?? String(err) };
}

/** Test hook shared by the workers: `'throw'` throws once, `'exit'` ends the worker; true when it exited. */
export function injectedFault(port: HostPort, fault: { how?: 'throw' | 'exit' }): boolean {
  const how = fault.how;
  fault.how = undefined;
  if (how === 'throw') throw new Error('injected fault (test hook)');
  if (how === 'exit') {
    port.exit(3);
    return true;
  }
  return false;
}
