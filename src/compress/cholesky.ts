/**
 * Dense symmetric positive-definite algebra on row-major `Float64Array`s (tfjs-core has neither float64
 * nor a Cholesky): the factorisation, the inverse through it, and the upper factor of the inverse that
 * SparseGPT / GPTQ use for left-to-right elimination.
 * @module
 */
import { InputError } from '../errors';

function checkSquare(name: string, a: Float64Array, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1 || a.length !== n * n) {
    throw new InputError(`${name}.length`, a.length, `must be n * n for n = ${n}`);
  }
}

/**
 * Lower Cholesky factor `L` (row-major `n x n`, zeros above the diagonal) with `A = L Lᵀ`, for a symmetric
 * positive-definite `A` (only its lower triangle is read).
 * @throws {@link InputError} naming the pivot when `A` is not positive definite (or holds NaN).
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  checkSquare('a', a, n);
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const lj = j * n;
    let d = a[lj + j] as number;
    for (let k = 0; k < j; k++) d -= (l[lj + k] as number) ** 2;
    if (!(d > 0)) throw new InputError(`pivot ${j}`, d, 'must be > 0: the matrix is not positive definite');
    const djj = Math.sqrt(d);
    l[lj + j] = djj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j] as number;
      for (let k = 0; k < j; k++) s -= (l[li + k] as number) * (l[lj + k] as number);
      l[li + j] = s / djj;
    }
  }
  return l;
}

/** Inverse of a lower-triangular `L` (row-major `n x n`), itself lower triangular. */
export function invertLower(l: Float64Array, n: number): Float64Array {
  checkSquare('l', l, n);
  const inv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    inv[j * n + j] = 1 / (l[j * n + j] as number);
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s += (l[i * n + k] as number) * (inv[k * n + j] as number);
      inv[i * n + j] = -s / (l[i * n + i] as number);
    }
  }
  return inv;
}

/** `A⁻¹` from the lower Cholesky factor of `A` (PyTorch's `cholesky_inverse`): `L⁻ᵀ L⁻¹`. */
export function choleskyInverse(l: Float64Array, n: number): Float64Array {
  const m = invertLower(l, n); // M = L⁻¹, lower
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0; // (Mᵀ M)_ij = Σ_k M_ki M_kj, k >= max(i, j) = i
      for (let k = i; k < n; k++) s += (m[k * n + i] as number) * (m[k * n + j] as number);
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/**
 * Upper Cholesky factor `U` of `A⁻¹` (`A⁻¹ = Uᵀ U`), for a symmetric positive-definite `A`: row `j` of `U`
 * is row `j` of the inverse of `A` restricted to indices `j..n-1`, over the square root of its diagonal.
 */
export function upperCholeskyOfInverse(a: Float64Array, n: number): Float64Array {
  const inv = choleskyInverse(cholesky(a, n), n);
  const l = cholesky(inv, n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = l[j * n + i] as number;
  return u;
}
