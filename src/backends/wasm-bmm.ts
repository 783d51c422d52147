/**
 * A faster batched matmul for the wasm backend. tfjs-backend-wasm 4.22 runs a batched (`[G, M, K] @
 * [G, K, N]`) product on a slow generic loop (~2 GFLOP/s here) but a single `[1, M, K] @ [1, K, N]` on
 * XNNPACK (~25 GFLOP/s). This kernel runs one XNNPACK product per group on views into the operands'
 * wasm memory (no copies), then unregisters the views without freeing their memory. It is registered
 * under its own name, so tfjs's own BatchMatMul is untouched; {@link verifyWasmBmm} checks it against
 * the built-in kernel once before it is used.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { heapOffset, internals, type WasmBackendInternals } from './wasm-heap';

/** Kernel name of the split batched matmul. */
export const SPLIT_BMM = 'TfjsRlhfSplitBatchMatMul';


let wasmBatchMatMul: ((...args: unknown[]) => void) | undefined;

function view(be: WasmBackendInternals, shape: number[], offset: number): { info: tf.TensorInfo; id: number } {
  const info = be.makeOutput(shape, 'float32', offset);
  return { info, id: (be.dataIdMap.get(info.dataId) as { id: number }).id };
}

function release(be: WasmBackendInternals, v: { info: tf.TensorInfo; id: number }): void {
  be.wasm.tfjs.disposeData(v.id); // forget the registration (and any cached operator); memory is not ours
  be.dataIdMap.delete(v.info.dataId);
}

const splitBmmKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const be = internals(backend);
  wasmBatchMatMul ??= be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
  const [G, M, K] = a.shape as [number, number, number];
  const N = b.shape[2] as number;
  const out = be.makeOutput([G, M, N], 'float32');
  const aOff = heapOffset(be, a);
  const bOff = heapOffset(be, b);
  const oOff = heapOffset(be, out);
  const aShape = new Uint8Array(new Int32Array([1, M, K]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, K, N]).buffer);
  for (let g = 0; g < G; g++) {
    const av = view(be, [1, M, K], aOff + g * M * K * 4);
    const bv = view(be, [1, K, N], bOff + g * K * N * 4);
    const ov = view(be, [1, M, N], oOff + g * M * N * 4);
    wasmBatchMatMul(av.id, aShape, 3, bv.id, bShape, 3, false, false, ov.id);
    release(be, av);
    release(be, bv);
    release(be, ov);
  }
  return out;
};

let state: 'unknown' | 'ok' | 'off' = 'unknown';

/** Registers the kernel for wasm (idempotent). */
export function registerWasmBmm(): void {
  if (tf.getKernel(SPLIT_BMM, 'wasm') === undefined) {
    tf.registerKernel({ kernelName: SPLIT_BMM, backendName: 'wasm', kernelFunc: splitBmmKernel });
  }
}

/** Runs the split kernel: `a: [G, M, K]`, `b: [G, K, N]` float32 on wasm. */
export function splitBmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.engine().runKernel(SPLIT_BMM, { a, b }, {}) as tf.Tensor3D;
}

/** Compares the split kernel with tfjs's BatchMatMul once; returns whether it may be used. */
export function verifyWasmBmm(): boolean {
  if (state !== 'unknown') return state === 'ok';
  try {
    registerWasmBmm();
    const diff = tf.tidy(() => {
      const a = tf.tensor3d(Float32Array.from({ length: 3 * 5 * 4 }, (_, i) => Math.sin(i)), [3, 5, 4]);
      const b = tf.tensor3d(Float32Array.from({ length: 3 * 4 * 6 }, (_, i) => Math.cos(i)), [3, 4, 6]);
      return tf.max(tf.abs(tf.sub(splitBmm(a, b), tf.matMul(a, b)))).dataSync()[0] as number;
    });
    state = diff < 1e-4 ? 'ok' : 'off';
  } catch {
    state = 'off';
  }
  return state === 'ok';
}

/** Whether batched products should go through {@link splitBmm} on the current backend. */
export function useSplitBmm(): boolean {
  return tf.getBackend() === 'wasm' && verifyWasmBmm();
}
