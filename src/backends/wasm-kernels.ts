/**
 * Kernels that tfjs-backend-wasm 4.22 lacks but training needs, written in plain TypeScript over the
 * wasm heap. `UnsortedSegmentSum` is the gradient of `gather`, i.e. of every embedding lookup.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { internals } from './wasm-heap';

/** Sums rows of `x` into `numSegments` buckets chosen by `segmentIds`; ids outside the range are dropped (tfjs semantics). */
export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  inner: number,
  numSegments: number,
): Float32Array {
  const out = new Float32Array(numSegments * inner);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i] as number;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] = (out[dst + j] as number) + (x[src + j] as number);
  }
  return out;
}

const unsortedSegmentSumWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const b = internals(backend);
  const idRank = segmentIds.shape.length;
  const innerShape = x.shape.slice(idRank);
  const inner = innerShape.reduce((a, d) => a * d, 1);
  const values = unsortedSegmentSumValues(b.readSync(x.dataId), b.readSync(segmentIds.dataId), inner, numSegments);
  return b.makeOutput([numSegments, ...innerShape], 'float32', undefined, values);
};

/**
 * `Identity` (what `tf.clone` runs, e.g. for every tensor a gradient saves) sharing the input's memory
 * by reference count, as tfjs-backend-wasm's own `Reshape` does, instead of copying it: tensors are
 * immutable, so a copy is never needed. Strings keep tfjs's kernel.
 */
function identityShared(builtin: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (x.dtype === 'string') return builtin(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

let registered = false;

/** Registers the missing kernels for the `wasm` backend and its sharing `Identity` (idempotent). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm });
  }
  const identity = tf.getKernel('Identity', 'wasm');
  if (identity !== undefined) {
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({ ...identity, kernelFunc: identityShared(identity.kernelFunc) });
  }
}
