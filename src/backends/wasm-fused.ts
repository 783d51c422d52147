/**
 * Fused kernels for the wasm backend, in TypeScript over views of the wasm heap (math in
 * `fused-math.ts`). tfjs-backend-wasm 4.22 runs a 2D transpose at ~12 ns per element, a column sum as a
 * transpose plus a row sum, tanh at ~13 ns per element, and a LayerNorm, GELU or log-softmax as a
 * chain of 5-15 kernels each reading and writing the whole tensor; one pass each here. They are
 * registered under their own names (tfjs's kernels are untouched) and reached through `fused-ops.ts`.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { allocate, f32, heapOffset, i32, internals } from './wasm-heap';
import { simdKernels } from './wasm-simd';
import { InputError } from '../errors';
import {
  adamwUpdate, addTargetTerms, columnSums, decodeAttention, finishLogProbs, geluBackward, geluForward, layerNormBackward, layerNormForward,
  selectedLogProbsBackward, selectedLogProbsForward, sumOfSquares, type AdamWScalars,
} from './fused-math';
import { concat3d, gatherRows, mergeHeads, splitHeads, transpose2d, writeAt, type HeadDims } from './fused-layout';

/** Kernel names, one per fused operation. */
export const FUSED = {
  transpose2d: 'TfjsRlhfTranspose2D',
  columnSums: 'TfjsRlhfColumnSums',
  geluForward: 'TfjsRlhfGeluForward',
  geluBackward: 'TfjsRlhfGeluBackward',
  layerNormForward: 'TfjsRlhfLayerNormForward',
  layerNormBackward: 'TfjsRlhfLayerNormBackward',
  logProbsForward: 'TfjsRlhfSelectedLogProbsForward',
  logProbsBackward: 'TfjsRlhfSelectedLogProbsBackward',
  gatherRows: 'TfjsRlhfGatherRows',
  adamw: 'TfjsRlhfAdamW',
  splitHeads: 'TfjsRlhfSplitHeads',
  splitHeadsBackward: 'TfjsRlhfSplitHeadsBackward',
  mergeHeads: 'TfjsRlhfMergeHeads',
  mergeHeadsBackward: 'TfjsRlhfMergeHeadsBackward',
  concat3d: 'TfjsRlhfConcat3D',
  sumOfSquares: 'TfjsRlhfSumOfSquares',
  decodeAttention: 'TfjsRlhfDecodeAttention',
  cacheBuffer: 'TfjsRlhfCacheBuffer',
  cacheAppend: 'TfjsRlhfCacheAppend',
} as const;

type Inputs = Record<string, tf.TensorInfo>;
type Kernel = (inputs: Inputs, be: ReturnType<typeof internals>, attrs: Record<string, unknown>) => tf.TensorInfo | tf.TensorInfo[];

const dims = (t: tf.TensorInfo): [number, number] => [t.shape[0] as number, t.shape[t.shape.length - 1] as number];
const count = (t: tf.TensorInfo): number => t.shape.reduce((a, d) => a * d, 1);
const off = (be: ReturnType<typeof internals>, t: tf.TensorInfo | undefined): number => heapOffset(be, t as tf.TensorInfo);

/** Writes `x` into the cache buffer `buf` at `at` along `axis`, refusing a write past its capacity. */
function writeCache(be: ReturnType<typeof internals>, buf: tf.TensorInfo, x: tf.TensorInfo, axis: 1 | 2, at: number): void {
  const [end, room] = [at + (x.shape[axis] as number), buf.shape[axis] as number];
  if (end > room) throw new InputError('cache position', end, `exceeds the cache's capacity of ${room} positions`);
  writeAt(f32(be, buf), buf.shape, f32(be, x), x.shape, axis, at);
}

const kernels: Record<keyof typeof FUSED, Kernel> = {
  transpose2d: ({ x }, be) => {
    const [r, c] = dims(x as tf.TensorInfo);
    const [out] = allocate(be, [c, r]) as [tf.TensorInfo];
    transpose2d(f32(be, x as tf.TensorInfo), r, c, f32(be, out));
    return out;
  },
  columnSums: ({ x }, be) => {
    const [r, c] = dims(x as tf.TensorInfo);
    const [out] = allocate(be, [c]) as [tf.TensorInfo];
    const simd = simdKernels(be);
    if (simd !== null) simd.columnSums(off(be, x), r, c, off(be, out));
    else columnSums(f32(be, x as tf.TensorInfo), r, c, f32(be, out));
    return out;
  },
  geluForward: ({ x }, be) => {
    const s = (x as tf.TensorInfo).shape;
    const [y, t] = allocate(be, s, s) as [tf.TensorInfo, tf.TensorInfo];
    const simd = simdKernels(be);
    if (simd !== null) simd.geluForward(off(be, x), off(be, y), off(be, t), count(y));
    else geluForward(f32(be, x as tf.TensorInfo), f32(be, y), f32(be, t));
    return [y, t];
  },
  geluBackward: ({ dy, x, t }, be) => {
    const [dx] = allocate(be, (x as tf.TensorInfo).shape) as [tf.TensorInfo];
    const simd = simdKernels(be);
    if (simd !== null) simd.geluBackward(off(be, dy), off(be, x), off(be, t), off(be, dx), count(dx));
    else geluBackward(f32(be, dy as tf.TensorInfo), f32(be, x as tf.TensorInfo), f32(be, t as tf.TensorInfo), f32(be, dx));
    return dx;
  },
  layerNormForward: ({ x, gamma, beta }, be, { eps }) => {
    const [n, d] = dims(x as tf.TensorInfo);
    const [y, xhat, rstd] = allocate(be, [n, d], [n, d], [n, 1]) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const simd = simdKernels(be);
    const o = (t: tf.TensorInfo | undefined): number => off(be, t);
    if (simd !== null) simd.layerNormForward(o(x), o(gamma), o(beta), eps as number, n, d, o(y), o(xhat), o(rstd));
    else {
      const v = (t: tf.TensorInfo | undefined): Float32Array => f32(be, t as tf.TensorInfo);
      layerNormForward(v(x), v(gamma), v(beta), eps as number, d, v(y), v(xhat), v(rstd));
    }
    return [y, xhat, rstd];
  },
  layerNormBackward: ({ dy, xhat, rstd, gamma }, be) => {
    const [n, d] = dims(dy as tf.TensorInfo);
    const [dx, dg, db] = allocate(be, [n, d], [d], [d]) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const simd = simdKernels(be);
    const o = (t: tf.TensorInfo | undefined): number => off(be, t);
    if (simd !== null) simd.layerNormBackward(o(dy), o(xhat), o(rstd), o(gamma), n, d, o(dx), o(dg), o(db));
    else {
      const v = (t: tf.TensorInfo | undefined): Float32Array => f32(be, t as tf.TensorInfo);
      layerNormBackward(v(dy), v(xhat), v(rstd), v(gamma), d, v(dx), v(dg), v(db));
    }
    return [dx, dg, db];
  },
  logProbsForward: ({ logits, targets }, be) => {
    const [n, V] = dims(logits as tf.TensorInfo);
    const [logp, lse] = allocate(be, [n], [n]) as [tf.TensorInfo, tf.TensorInfo];
    const simd = simdKernels(be);
    if (simd === null) selectedLogProbsForward(f32(be, logits as tf.TensorInfo), i32(be, targets as tf.TensorInfo), V, f32(be, logp), f32(be, lse));
    else {
      simd.rowMaxSumExp(off(be, logits), n, V, off(be, logp), off(be, lse)); // row maxima in logp, sums in lse
      finishLogProbs(f32(be, logits as tf.TensorInfo), i32(be, targets as tf.TensorInfo), V, f32(be, logp), f32(be, lse));
    }
    return [logp, lse];
  },
  logProbsBackward: ({ dy, logits, lse, targets }, be) => {
    const [n, V] = dims(logits as tf.TensorInfo);
    const [dl] = allocate(be, [n, V]) as [tf.TensorInfo];
    const v = (t: tf.TensorInfo | undefined): Float32Array => f32(be, t as tf.TensorInfo);
    const simd = simdKernels(be);
    if (simd === null) selectedLogProbsBackward(v(dy), v(logits), v(lse), i32(be, targets as tf.TensorInfo), V, f32(be, dl));
    else {
      simd.negScaledSoftmax(off(be, dy), off(be, logits), off(be, lse), n, V, off(be, dl));
      addTargetTerms(v(dy), v(logits), v(lse), i32(be, targets as tf.TensorInfo), V, f32(be, dl));
    }
    return dl;
  },
  gatherRows: ({ table, ids }, be) => {
    const d = dims(table as tf.TensorInfo)[1];
    const [out] = allocate(be, [(ids as tf.TensorInfo).shape[0] as number, d]) as [tf.TensorInfo];
    gatherRows(f32(be, table as tf.TensorInfo), i32(be, ids as tf.TensorInfo), d, f32(be, out));
    return out;
  },
  adamw: ({ w, m, v, g }, be, attrs) => {
    const s = (w as tf.TensorInfo).shape;
    const [wo, mo, vo] = allocate(be, s, s, s) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const a = attrs as unknown as AdamWScalars;
    const simd = simdKernels(be);
    const o = (t: tf.TensorInfo | undefined): number => off(be, t);
    if (simd !== null) simd.adamw(o(w), o(m), o(v), o(g), o(wo), o(mo), o(vo), count(wo), a.c1, a.c2, a.stepSize, a.eps, a.decay, a.gradScale);
    else {
      const x = (t: tf.TensorInfo | undefined): Float32Array => f32(be, t as tf.TensorInfo);
      adamwUpdate(x(w), x(m), x(v), x(g), a, x(wo), x(mo), x(vo));
    }
    return [wo, mo, vo];
  },
  splitHeads: ({ qkv }, be, attrs) => {
    const h = attrs as unknown as HeadDims & { scale: number };
    const [q, kT, v] = allocate(be, [h.B * h.H, h.T, h.hd], [h.B * h.H, h.hd, h.T], [h.B * h.H, h.T, h.hd]) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    splitHeads(f32(be, qkv as tf.TensorInfo), h, h.scale, f32(be, q), f32(be, kT), f32(be, v));
    return [q, kT, v];
  },
  splitHeadsBackward: ({ dq, dkT, dv }, be, attrs) => {
    const h = attrs as unknown as HeadDims & { scale: number };
    const [dqkv] = allocate(be, [h.B * h.T, 3 * h.H * h.hd]) as [tf.TensorInfo];
    const x = (t: tf.TensorInfo | undefined): Float32Array => f32(be, t as tf.TensorInfo);
    splitHeads(f32(be, dqkv), h, h.scale, x(dq), x(dkT), x(dv), true);
    return dqkv;
  },
  mergeHeads: ({ y }, be, attrs) => {
    const h = attrs as unknown as HeadDims;
    const [out] = allocate(be, [h.B * h.T, h.H * h.hd]) as [tf.TensorInfo];
    mergeHeads(f32(be, y as tf.TensorInfo), h, f32(be, out));
    return out;
  },
  mergeHeadsBackward: ({ dy }, be, attrs) => {
    const h = attrs as unknown as HeadDims;
    const [dyh] = allocate(be, [h.B * h.H, h.T, h.hd]) as [tf.TensorInfo];
    mergeHeads(f32(be, dyh), h, f32(be, dy as tf.TensorInfo), true);
    return dyh;
  },
  decodeAttention: ({ q, kT, v, bias }, be, { H }) => {
    const [G, , hd] = (q as tf.TensorInfo).shape as [number, number, number];
    const [Tk, cap] = [(bias as tf.TensorInfo).shape[3] as number, (kT as tf.TensorInfo).shape[2] as number];
    const [y, p] = allocate(be, [G, 1, hd], [G, Tk]) as [tf.TensorInfo, tf.TensorInfo];
    const simd = simdKernels(be);
    const o = (t: tf.TensorInfo | undefined): number => off(be, t);
    const x = (t: tf.TensorInfo | undefined): Float32Array => f32(be, t as tf.TensorInfo);
    if (simd !== null) simd.decodeAttention(o(q), o(kT), o(v), o(bias), G, H as number, hd, Tk, cap, o(p), o(y));
    else decodeAttention(x(q), x(kT), x(v), x(bias), H as number, hd, Tk, cap, x(p), x(y));
    return [y, p];
  },
  cacheBuffer: ({ x }, be, { axis, capacity }) => {
    const shape = [...(x as tf.TensorInfo).shape];
    shape[axis as number] = capacity as number;
    const [buf] = allocate(be, shape) as [tf.TensorInfo];
    writeCache(be, buf, x as tf.TensorInfo, axis as 1 | 2, 0);
    return buf;
  },
  cacheAppend: ({ buf, x }, be, { axis, at }) => {
    // Writes into `buf` in place and returns a tensor sharing its memory (a reference, as `Identity`):
    // only the decoding loop holds the cache, and it lets go of the old tensor once it has the new one.
    const b = buf as tf.TensorInfo;
    writeCache(be, b, x as tf.TensorInfo, axis as 1 | 2, at as number);
    (be as unknown as { incRef(dataId: object): void }).incRef(b.dataId);
    return { dataId: b.dataId, shape: [...b.shape], dtype: b.dtype };
  },
  concat3d: ({ a, b }, be, attrs) => {
    const [x, y] = [a, b] as [tf.TensorInfo, tf.TensorInfo];
    const axis = attrs.axis as 1 | 2;
    const shape = [...x.shape];
    shape[axis] = (shape[axis] as number) + (y.shape[axis] as number);
    const [out] = allocate(be, shape) as [tf.TensorInfo];
    concat3d(f32(be, x), x.shape, f32(be, y), y.shape, axis, f32(be, out));
    return out;
  },
  sumOfSquares: (inputs, be) => {
    const n = Object.keys(inputs).length; // inputs x0 .. x{n-1}, in order
    const [out] = allocate(be, []) as [tf.TensorInfo];
    const xs = Array.from({ length: n }, (_, i) => inputs[`x${i}`] as tf.TensorInfo);
    const simd = simdKernels(be);
    f32(be, out)[0] = simd !== null
      ? xs.reduce((s, x) => s + simd.sumSquares(off(be, x), count(x)), 0)
      : sumOfSquares(xs.map((x) => f32(be, x)));
    return out;
  },
};

let registered = false;

/** Registers every fused kernel for the `wasm` backend (idempotent). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  for (const key of Object.keys(FUSED) as (keyof typeof FUSED)[]) {
    if (tf.getKernel(FUSED[key], 'wasm') !== undefined) continue;
    const k = kernels[key];
    tf.registerKernel({
      kernelName: FUSED[key],
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => k(inputs as Inputs, internals(backend), (attrs ?? {}) as Record<string, unknown>),
    });
  }
  // The head layouts and the concatenation are the fused kernels called outside a customGrad: they carry their gradients.
  tf.registerGradient({
    kernelName: FUSED.concat3d,
    inputsToSave: ['a'],
    gradFunc: (dy, saved, attrs) => {
      const d = dy as tf.Tensor3D;
      const axis = (attrs as { axis: number }).axis;
      const split = (saved[0] as tf.Tensor).shape[axis] as number;
      const part = (from: number, size: number): tf.Tensor => tf.slice(d, axis === 1 ? [0, from, 0] : [0, 0, from], axis === 1 ? [-1, size, -1] : [-1, -1, size]);
      return { a: () => part(0, split), b: () => part(split, (d.shape[axis] as number) - split) };
    },
  });
  tf.registerGradient({
    kernelName: FUSED.splitHeads,
    gradFunc: (dy, _saved, attrs) => {
      const [dq, dkT, dv] = dy as tf.Tensor[];
      return { qkv: () => tf.engine().runKernel(FUSED.splitHeadsBackward, { dq, dkT, dv } as tf.NamedTensorMap, attrs) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: FUSED.mergeHeads,
    gradFunc: (dy, _saved, attrs) => ({ y: () => tf.engine().runKernel(FUSED.mergeHeadsBackward, { dy: dy as tf.Tensor }, attrs) as tf.Tensor }),
  });
}
