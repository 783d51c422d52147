/**
 * Magnitude pruning of one matrix (the baseline of the SparseGPT paper, layer-wise): zero the smallest
 * |w|. Pure math; the matrix is row-major `[dIn, dOut]` (Conv1D layout), so an N:M group is M
 * consecutive input rows of one output column.
 * @module
 */

/** An N:M pattern: `n` zeros in every group of `m` consecutive inputs. */
export interface NMPattern {
  /** Zeros per group. */
  n: number;
  /** Group size. */
  m: number;
}

/** Indices of the `k` smallest `scores` (ties: lower index first). */
export function smallestK(scores: ArrayLike<number>, k: number): Int32Array {
  const idx = Int32Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  return idx.subarray(0, k);
}

/** Zeros exactly `floor(sparsity · dIn · dOut)` entries of smallest |w| (unstructured), in place; returns `w`. */
export function magnitudePrune(w: Float32Array, sparsity: number): Float32Array {
  const scores = Float64Array.from(w, Math.abs);
  for (const i of smallestK(scores, Math.floor(sparsity * w.length))) w[i] = 0;
  return w;
}

/** Zeros the `n` smallest |w| of each group of `m` consecutive input rows per output column, in place. */
export function magnitudePruneNM(w: Float32Array, dIn: number, dOut: number, p: NMPattern): Float32Array {
  const group = new Float64Array(p.m);
  for (let j = 0; j < dIn; j += p.m) {
    for (let o = 0; o < dOut; o++) {
      for (let g = 0; g < p.m; g++) group[g] = Math.abs(w[(j + g) * dOut + o] as number);
      for (const g of smallestK(group, p.n)) w[(j + g) * dOut + o] = 0;
    }
  }
  return w;
}
