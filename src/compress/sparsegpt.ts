/**
 * SparseGPT (Frantar & Alistarh 2023) for one matrix, as IST-DASLab/sparsegpt `fasterprune`: with the
 * inputs' Hessian `H = X Xᵀ` (dampened), the upper Cholesky factor `U` of `H⁻¹`; then, over blocks of
 * input columns, choose the block's mask by the OBS saliency `w² / U_jj²` and prune column by column,
 * propagating each column's error `(w − q) / U_jj` to all later columns along `U[j, j+1:]`. (The
 * reference batches the propagation to later blocks lazily; applying it at once is the same arithmetic.)
 * Our matrices are Conv1D `[dIn, dOut]`, so the paper's column `j` is row `j` here (contiguous).
 * @module
 */
import { upperCholeskyOfInverse } from './cholesky';
import { smallestK, type NMPattern } from './magnitude';

/** Options of {@link sparseGptPrune}. */
export interface SparseGptMatrixOptions {
  /** Fraction of weights zeroed in each block of `blockSize` inputs (unstructured). */
  sparsity: number;
  /** N:M pattern instead of unstructured sparsity. */
  pattern?: NMPattern | undefined;
  /** Inputs per mask block. */
  blockSize: number;
  /** Relative dampening: `H += dampening · mean(diag H) · I`. */
  dampening: number;
}

/** Block mask: exactly `floor(sparsity · count)` entries of smallest saliency in rows `[i1, i2)`. */
function blockMask(w: Float64Array, u: Float64Array, dIn: number, dOut: number, i1: number, i2: number, sparsity: number): Uint8Array {
  const scores = new Float64Array((i2 - i1) * dOut);
  for (let j = i1; j < i2; j++) {
    const ujj = (u[j * dIn + j] as number) ** 2;
    for (let o = 0; o < dOut; o++) scores[(j - i1) * dOut + o] = (w[j * dOut + o] as number) ** 2 / ujj;
  }
  const mask = new Uint8Array(scores.length);
  for (const k of smallestK(scores, Math.floor(sparsity * scores.length))) mask[k] = 1;
  return mask;
}

/** N:M mask of rows `[j, j + m)` (one group per output column), written into `mask` at row offset `j - i1`. */
function groupMask(w: Float64Array, u: Float64Array, dIn: number, dOut: number, j: number, i1: number, p: NMPattern, mask: Uint8Array): void {
  const s = new Float64Array(p.m);
  for (let o = 0; o < dOut; o++) {
    for (let g = 0; g < p.m; g++) s[g] = (w[(j + g) * dOut + o] as number) ** 2 / (u[(j + g) * dIn + j + g] as number) ** 2;
    for (const g of smallestK(s, p.n)) mask[(j + g - i1) * dOut + o] = 1;
  }
}

/** Dampened copy of `xtx`; zero-diagonal (dead) inputs get `H_jj = 1` and their weights zeroed in `w`. */
function dampenedHessian(xtx: Float64Array, w: Float64Array, dIn: number, dOut: number, dampening: number): Float64Array {
  const h = Float64Array.from(xtx);
  for (let j = 0; j < dIn; j++) {
    if (h[j * dIn + j] === 0) {
      h[j * dIn + j] = 1;
      w.fill(0, j * dOut, (j + 1) * dOut);
    }
  }
  let mean = 0;
  for (let j = 0; j < dIn; j++) mean += (h[j * dIn + j] as number) / dIn;
  for (let j = 0; j < dIn; j++) h[j * dIn + j] = (h[j * dIn + j] as number) + dampening * mean;
  return h;
}

/**
 * Prunes `weight` (row-major `[dIn, dOut]`) given `xtx = Σ x xᵀ` of its inputs (`[dIn, dIn]`); returns
 * the pruned matrix (a new array). Unstructured: every block of `blockSize` input rows has exactly
 * `floor(sparsity · rows · dOut)` zeros chosen by the mask (plus any dead inputs).
 */
export function sparseGptPrune(weight: Float32Array, dIn: number, dOut: number, xtx: Float64Array, o: SparseGptMatrixOptions): Float32Array {
  const w = Float64Array.from(weight);
  const u = upperCholeskyOfInverse(dampenedHessian(xtx, w, dIn, dOut, o.dampening), dIn);
  const err = new Float64Array(dOut);
  for (let i1 = 0; i1 < dIn; i1 += o.blockSize) {
    const i2 = Math.min(i1 + o.blockSize, dIn);
    const mask = o.pattern ? new Uint8Array((i2 - i1) * dOut) : blockMask(w, u, dIn, dOut, i1, i2, o.sparsity);
    for (let j = i1; j < i2; j++) {
      if (o.pattern && (j - i1) % o.pattern.m === 0) groupMask(w, u, dIn, dOut, j, i1, o.pattern, mask);
      const ujj = u[j * dIn + j] as number;
      for (let c = 0; c < dOut; c++) {
        const pruned = mask[(j - i1) * dOut + c] === 1;
        err[c] = pruned ? (w[j * dOut + c] as number) / ujj : 0;
        if (pruned) w[j * dOut + c] = 0;
      }
      for (let k = j + 1; k < dIn; k++) {
        const ujk = u[j * dIn + k] as number; //                   W[:, k] -= err · U[j, k]
        if (ujk === 0) continue;
        const row = k * dOut;
        for (let c = 0; c < dOut; c++) w[row + c] = (w[row + c] as number) - (err[c] as number) * ujk;
      }
    }
  }
  return Float32Array.from(w);
}
