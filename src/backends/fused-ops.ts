/**
 * The fused operations the model and the optimizer use, each with two implementations: one fused
 * kernel on the wasm backend (`wasm-fused.ts`), and the equivalent composition of tf ops everywhere
 * else (cpu, webgpu, webgl, tensorflow). {@link fusedOn} checks the kernels against the compositions
 * once per process before any is used. The head layouts and the concatenation are differentiable
 * (registered gradients on wasm); the others record no gradient and are called inside `tf.customGrad`s.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { FUSED, registerFusedKernels } from './wasm-fused';
import type { AdamWScalars } from './fused-math';
import type { HeadDims } from './fused-layout';

const GELU_C = Math.sqrt(2 / Math.PI);
const run = (name: string, inputs: tf.NamedTensorMap, attrs: object = {}): tf.Tensor | tf.Tensor[] =>
  tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap);

let state: 'unknown' | 'ok' | 'off' | 'fused' | 'ref' = 'unknown';

/** Whether the fused kernels run (the backend is wasm and they passed their one-time check). */
export function fusedOn(): boolean {
  if (state === 'fused' || state === 'ref') return state === 'fused';
  if (tf.getBackend() !== 'wasm') return false;
  if (state === 'unknown') {
    try {
      registerFusedKernels();
      state = checkFused() ? 'ok' : 'off';
    } catch {
      state = 'off';
    }
  }
  return state === 'ok';
}

/**
 * For tests: `false` runs the tf-op compositions on every backend, `'auto'` (the default) the fused
 * kernels where {@link fusedOn} allows.
 */
export function setFusedKernels(mode: false | 'auto'): void {
  state = mode === false ? 'ref' : 'unknown';
}

/** `x^T` of a 2D tensor. */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  return (fusedOn() ? run(FUSED.transpose2d, { x }) : tf.transpose(x)) as tf.Tensor2D;
}

/** Sum over axis 0 of a 2D tensor: `[N, d] -> [d]`. */
export function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  return (fusedOn() ? run(FUSED.columnSums, { x }) : tf.sum(x, 0)) as tf.Tensor1D;
}

/** GELU (tanh form) of `x` and the tanh term the backward needs: `[y, t]`. */
export function geluForward(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  if (fusedOn()) return run(FUSED.geluForward, { x }) as [tf.Tensor, tf.Tensor];
  const x3 = tf.mul(tf.mul(x, x), x);
  const th = tf.tanh(tf.mul(tf.add(x, tf.mul(x3, 0.044715)), GELU_C)); // tanh(c (x + a x^3))
  return [tf.mul(tf.mul(x, 0.5), tf.add(th, 1)), th];
}

/** `dy * gelu'(x)` given the forward's tanh term `t`. */
export function geluBackward(dy: tf.Tensor, x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  if (fusedOn()) return run(FUSED.geluBackward, { dy, x, t }) as tf.Tensor;
  // d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)
  const sech2 = tf.sub(1, tf.mul(t, t));
  const inner = tf.mul(tf.add(tf.mul(tf.mul(x, x), 3 * 0.044715), 1), GELU_C);
  return tf.mul(dy, tf.add(tf.mul(tf.add(t, 1), 0.5), tf.mul(tf.mul(tf.mul(x, 0.5), sech2), inner)));
}

/** LayerNorm over the last axis of `x: [N, d]`: `[y, xhat, rstd: [N, 1]]`. */
export function layerNormForward(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  if (fusedOn()) return run(FUSED.layerNormForward, { x, gamma, beta }, { eps }) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  const mean = tf.mean(x, 1, true); //                                  [N, 1]
  const xc = tf.sub(x, mean); //                                         [N, d]
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.mul(xc, xc), 1, true), eps)); // [N, 1]
  const xhat = tf.mul(xc, rstd); //                                      [N, d]
  return [tf.add(tf.mul(xhat, gamma), beta), xhat, rstd] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
}

/** LayerNorm backward: `[dx, dgamma, dbeta]`. */
export function layerNormBackward(dy: tf.Tensor2D, xhat: tf.Tensor2D, rstd: tf.Tensor2D, gamma: tf.Tensor1D): [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D] {
  if (fusedOn()) return run(FUSED.layerNormBackward, { dy, xhat, rstd, gamma }) as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
  const dxhat = tf.mul(dy, gamma); //                                    [N, d]
  // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
  const m1 = tf.mean(dxhat, 1, true);
  const m2 = tf.mean(tf.mul(dxhat, xhat), 1, true);
  const dx = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xhat, m2)), rstd);
  return [dx, tf.sum(tf.mul(dy, xhat), 0), tf.sum(dy, 0)] as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
}

/** Per row of `logits: [N, V]`: `[logits[target] - lse, lse]`, both `[N]`; `targets` int32 `[N]`. */
export function logProbsForward(logits: tf.Tensor2D, targets: tf.Tensor1D): [tf.Tensor1D, tf.Tensor1D] {
  if (fusedOn()) return run(FUSED.logProbsForward, { logits, targets }) as [tf.Tensor1D, tf.Tensor1D];
  const lse = tf.reshape(tf.logSumExp(logits, 1, true), [-1]) as tf.Tensor1D; //       [N]
  return [tf.sub(tf.sum(tf.mul(logits, oneHot(targets, logits.shape[1])), 1), lse), lse];
}

/** `dlogits = dy[:, None] * (onehot(targets) - softmax(logits))`. */
export function logProbsBackward(dy: tf.Tensor1D, logits: tf.Tensor2D, lse: tf.Tensor1D, targets: tf.Tensor1D): tf.Tensor2D {
  if (fusedOn()) return run(FUSED.logProbsBackward, { dy, logits, lse, targets }) as tf.Tensor2D;
  const softmax = tf.exp(tf.sub(logits, tf.expandDims(lse, 1))); //                  [N, V]
  return tf.mul(tf.sub(oneHot(targets, logits.shape[1]), softmax), tf.expandDims(dy, 1));
}

/** tfjs-backend-wasm 4.22's OneHot ignores a float32 dtype (writes int bits): build int32, then cast. */
function oneHot(targets: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(targets, depth), 'float32') as tf.Tensor2D;
}

/** Rows of `table: [n, d]` at int32 `ids: [N]` -> `[N, d]`. */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return (fusedOn() ? run(FUSED.gatherRows, { table, ids }) : tf.gather(table, ids)) as tf.Tensor2D;
}

/** One AdamW update of a variable's value, moments and gradient: `[w, m, v]` after it. */
export function adamwUpdate(w: tf.Tensor, m: tf.Tensor, v: tf.Tensor, grad: tf.Tensor, s: AdamWScalars): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (fusedOn()) return run(FUSED.adamw, { w, m, v, g: grad }, s) as [tf.Tensor, tf.Tensor, tf.Tensor];
  const g = s.gradScale === 1 ? grad : tf.mul(grad, s.gradScale);
  const mNew = tf.add(m, tf.mul(tf.sub(g, m), s.c1));
  const vNew = tf.add(v, tf.mul(tf.sub(tf.square(g), v), s.c2));
  const update = tf.div(tf.mul(mNew, s.stepSize), tf.add(tf.sqrt(vNew), s.eps));
  return [tf.sub(s.decay === 1 ? w : tf.mul(w, s.decay), update), mNew, vNew];
}

/**
 * `qkv: [B*T, 3d]` into attention heads: `q: [B*H, T, hd]` times `scale`, keys transposed
 * `kT: [B*H, hd, T]`, `v: [B*H, T, hd]`. Differentiable (a registered gradient on wasm, autodiff elsewhere).
 */
export function splitHeads(qkv: tf.Tensor2D, h: HeadDims, scale: number): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  if (fusedOn()) return run(FUSED.splitHeads, { qkv }, { ...h, scale }) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
  const { B, T, H, hd } = h;
  const d = H * hd;
  const heads = (part: number, perm: number[]): tf.Tensor => tf.transpose(tf.reshape(tf.slice(qkv, [0, part * d], [-1, d]), [B, T, H, hd]), perm);
  return [
    tf.reshape(tf.mul(heads(0, [0, 2, 1, 3]), scale), [B * H, T, hd]), //  [B*H, T, hd]
    tf.reshape(heads(1, [0, 2, 3, 1]), [B * H, hd, T]), //                    [B*H, hd, T]
    tf.reshape(heads(2, [0, 2, 1, 3]), [B * H, T, hd]), //                    [B*H, T, hd]
  ] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
}

/** Attention heads `y: [B*H, T, hd]` side by side: `[B*T, H*hd]`. Differentiable. */
export function mergeHeads(y: tf.Tensor3D, h: HeadDims): tf.Tensor2D {
  if (fusedOn()) return run(FUSED.mergeHeads, { y }, { ...h }) as tf.Tensor2D;
  const { B, T, H, hd } = h;
  return tf.reshape(tf.transpose(tf.reshape(y, [B, H, T, hd]), [0, 2, 1, 3]), [B * T, H * hd]) as tf.Tensor2D;
}

/**
 * `sum_i sum(x_i^2)` of float32 tensors as a scalar (one kernel on wasm; a chain of adds elsewhere:
 * WebGPU binds one buffer per `addN` input and allows 8 per stage by default).
 */
export function sumOfSquares(xs: readonly tf.Tensor[]): tf.Scalar {
  if (xs.length === 0) return tf.scalar(0);
  if (fusedOn() && xs.every((x) => x.dtype === 'float32')) return run(FUSED.sumOfSquares, Object.fromEntries(xs.map((x, i) => [`x${i}`, x]))) as tf.Scalar;
  return tf.tidy(() => xs.map((g) => tf.sum(tf.square(g))).reduce((a, b) => tf.add(a, b)) as tf.Scalar);
}

/** `tf.concat([a, b], axis)` for 3D float32 tensors and axis 1 or 2 (the KV cache). Differentiable. */
export function concat3d(a: tf.Tensor3D, b: tf.Tensor3D, axis: 1 | 2): tf.Tensor3D {
  return (fusedOn() ? run(FUSED.concat3d, { a, b }, { axis }) : tf.concat([a, b], axis)) as tf.Tensor3D;
}

/**
 * Attention of one new query per group, as in KV-cached decoding (no gradient): `q: [G, 1, hd]`
 * (already scaled), `kT: [G, hd, Tk]`, `v: [G, Tk, hd]`, `bias: [B, 1, 1, Tk]`, `G = B * H` ->
 * `softmax(q kT + bias) v: [G, 1, hd]`. One pass per group on wasm instead of two batched matmuls, an
 * add and a softmax.
 */
export function decodeAttention(q: tf.Tensor3D, kT: tf.Tensor3D, v: tf.Tensor3D, bias: tf.Tensor, H: number): tf.Tensor3D {
  return tf.tidy(() => {
    if (fusedOn()) return (run(FUSED.decodeAttention, { q, kT, v, bias }, { H }) as tf.Tensor[])[0] as tf.Tensor3D;
    const [G, Tk] = [q.shape[0], bias.shape[3] as number]; // the first Tk of kT's columns / v's rows
    const keys = tf.slice(kT, [0, 0, 0], [-1, -1, Tk]);
    const scores = tf.add(tf.reshape(tf.matMul(q, keys), [G / H, H, 1, Tk]), bias); //  [B, H, 1, Tk]
    return tf.matMul(tf.reshape(tf.softmax(scores), [G, 1, Tk]), tf.slice(v, [0, 0, 0], [-1, Tk, -1])); // [G, 1, hd]
  });
}

/**
 * A KV cache with room to grow, on wasm only (check {@link fusedOn}): `x: [G, R, C]` copied into a new
 * buffer whose axis `axis` (1 for values, 2 for transposed keys) has length `capacity`.
 */
export function cacheBuffer(x: tf.Tensor3D, axis: 1 | 2, capacity: number): tf.Tensor3D {
  return run(FUSED.cacheBuffer, { x }, { axis, capacity }) as tf.Tensor3D;
}

/**
 * Writes `x` into the cache buffer `buf` at row/column `at` of axis `axis`, **in place**, and returns a
 * tensor sharing `buf`'s memory (wasm only). For the decoding loop, which owns its cache: any other
 * holder of `buf` would see the write.
 */
export function cacheAppend(buf: tf.Tensor3D, x: tf.Tensor3D, axis: 1 | 2, at: number): tf.Tensor3D {
  return run(FUSED.cacheAppend, { buf, x }, { axis, at }) as tf.Tensor3D;
}

// The head layouts' backward kernels are checked against compositions of the same permutations
// (not through tf.grad: the check may run inside a customGrad, where no tape records).
function splitHeadsBackwardCheck(qkv: tf.Tensor2D, h: HeadDims, scale: number): tf.Tensor {
  const [q, kT, v] = splitHeads(qkv, h, 1); // any three tensors of the gradients' shapes
  if (fusedOn()) return run(FUSED.splitHeadsBackward, { dq: q, dkT: kT, dv: v }, { ...h, scale }) as tf.Tensor;
  const { B, T, H, hd } = h;
  const back = (x: tf.Tensor, shape: number[], perm: number[]): tf.Tensor => tf.reshape(tf.transpose(tf.reshape(x, shape), perm), [B * T, H * hd]);
  return tf.concat([back(tf.mul(q, scale), [B, H, T, hd], [0, 2, 1, 3]), back(kT, [B, H, hd, T], [0, 3, 1, 2]), back(v, [B, H, T, hd], [0, 2, 1, 3])], 1);
}

function mergeHeadsBackwardCheck(y: tf.Tensor3D, h: HeadDims): tf.Tensor {
  const dy = mergeHeads(y, h); // any tensor of the gradient's shape
  if (fusedOn()) return run(FUSED.mergeHeadsBackward, { dy }, { ...h }) as tf.Tensor;
  const { B, T, H, hd } = h;
  return tf.reshape(tf.transpose(tf.reshape(dy, [B, T, H, hd]), [0, 2, 1, 3]), [B * H, T, hd]);
}

/** Runs every fused kernel and its composition on small inputs; true when all agree to 1e-4. */
function checkFused(): boolean {
  return tf.tidy(() => {
    let seed = 7;
    const rnd = (shape: number[]): tf.Tensor =>
      tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.sin(seed++) * 2), shape);
    const [x, y, d] = [rnd([5, 7]), rnd([5, 7]), rnd([7])] as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    const [rstd, dy, lse] = [tf.abs(rnd([5, 1])), rnd([5]), tf.ones([5])] as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    const heads: HeadDims = { B: 2, T: 3, H: 2, hd: 2 };
    const [qkv, yh] = [rnd([6, 12]), rnd([4, 3, 2])] as [tf.Tensor2D, tf.Tensor3D];
    const [ids, targets] = [tf.tensor1d([3, 0, 6, 6, 1], 'int32'), tf.tensor1d([1, 0, 6, 2, 3], 'int32')];
    const s: AdamWScalars = { c1: 0.1, c2: 0.05, stepSize: 0.01, eps: 1e-8, decay: 0.99, gradScale: 0.5 };
    const [dq, dkT, dv, dbias] = [rnd([4, 1, 2]), rnd([4, 2, 3]), rnd([4, 3, 2]), tf.tensor4d([0, -1e9, 0.5, 0, 0, -1e9], [2, 1, 1, 3])] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor4D];
    const cases: (() => tf.Tensor | tf.Tensor[])[] = [
      () => transpose2d(x), () => columnSums(x), () => geluForward(x), () => geluBackward(y, x, tf.tanh(x)),
      () => layerNormForward(x, d, tf.neg(d) as tf.Tensor1D, 1e-5), () => layerNormBackward(y, x, rstd, d),
      () => logProbsForward(x, targets), () => logProbsBackward(dy, x, lse, targets),
      () => gatherRows(tf.transpose(x) as tf.Tensor2D, ids), () => adamwUpdate(x, y, tf.abs(x), y, s),
      () => splitHeads(qkv, heads, 0.5), () => mergeHeads(yh, heads),
      () => splitHeadsBackwardCheck(qkv, heads, 0.5), () => mergeHeadsBackwardCheck(yh, heads),
      () => sumOfSquares([x, y, d]), () => decodeAttention(dq, dkT, dv, dbias, 2),
      () => concat3d(yh, tf.reshape(qkv, [4, 3, 6]) as tf.Tensor3D, 2), () => concat3d(yh, tf.reshape(qkv, [4, 9, 2]) as tf.Tensor3D, 1),
    ];
    return cases.every((c) => {
      state = 'fused';
      const fused = [c()].flat();
      state = 'ref';
      const ref = [c()].flat();
      return fused.length === ref.length && fused.every((f, i) => {
        const r = ref[i] as tf.Tensor;
        return f.size === r.size && (tf.max(tf.abs(tf.sub(tf.reshape(f, [-1]), tf.reshape(r, [-1])))).dataSync()[0] as number) < 1e-4;
      });
    });
  });
}
