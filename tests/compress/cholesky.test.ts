import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { cholesky, choleskyInverse, invertLower, upperCholeskyOfInverse } from '../../src/compress/cholesky';
import { InputError } from '../../src/errors';

/** Random SPD matrix `B Bᵀ + n·eps I` from a seed (row-major). */
function spd(n: number, seed: number, eps = 0.1): Float64Array {
  let s = seed >>> 0 || 1;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  const b = Float64Array.from({ length: n * n }, rnd);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let v = i === j ? n * eps : 0;
    for (let k = 0; k < n; k++) v += (b[i * n + k] as number) * (b[j * n + k] as number);
    a[i * n + j] = v;
  }
  return a;
}

function matmul(a: Float64Array, b: Float64Array, n: number, ta = false): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let v = 0;
    for (let k = 0; k < n; k++) v += (ta ? a[k * n + i] : a[i * n + k]) as number * (b[k * n + j] as number);
    out[i * n + j] = v;
  }
  return out;
}

/** Reference inverse: Gauss-Jordan elimination with partial pivoting. */
function gaussJordanInverse(a: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c] as number) > Math.abs(m[p * n + c] as number)) p = r;
    for (const x of [m, inv]) for (let k = 0; k < n; k++) [x[c * n + k], x[p * n + k]] = [x[p * n + k] as number, x[c * n + k] as number];
    const d = m[c * n + c] as number;
    for (const x of [m, inv]) for (let k = 0; k < n; k++) x[c * n + k] = (x[c * n + k] as number) / d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c] as number;
      for (const x of [m, inv]) for (let k = 0; k < n; k++) x[r * n + k] = (x[r * n + k] as number) - f * (x[c * n + k] as number);
    }
  }
  return inv;
}

const close = (a: Float64Array, b: Float64Array, tol: number) => {
  const scale = Math.max(1, ...Array.from(b, Math.abs));
  for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(tol * scale);
};

describe('Cholesky on Float64Array', () => {
  it('L is lower triangular with a positive diagonal and L Lᵀ = A (random SPD)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 24 }), fc.integer(), (n, seed) => {
      const a = spd(n, seed);
      const l = cholesky(a, n);
      for (let i = 0; i < n; i++) {
        expect(l[i * n + i]).toBeGreaterThan(0);
        for (let j = i + 1; j < n; j++) expect(l[i * n + j]).toBe(0);
      }
      const llt = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let v = 0;
        for (let k = 0; k < n; k++) v += (l[i * n + k] as number) * (l[j * n + k] as number);
        llt[i * n + j] = v;
      }
      close(llt, a, 1e-10);
    }), { numRuns: 60 });
  });

  it('choleskyInverse and invertLower agree with a Gauss-Jordan reference', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer(), (n, seed) => {
      const a = spd(n, seed);
      const l = cholesky(a, n);
      close(choleskyInverse(l, n), gaussJordanInverse(a, n), 1e-8);
      close(invertLower(l, n), gaussJordanInverse(l, n), 1e-8);
    }), { numRuns: 60 });
  });

  it('upperCholeskyOfInverse gives upper U with Uᵀ U = A⁻¹ and U_jj² = [(A_F)⁻¹]_jj for the trailing block', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 16 }), fc.integer(), (n, seed) => {
      const a = spd(n, seed);
      const u = upperCholeskyOfInverse(a, n);
      for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) expect(u[i * n + j]).toBe(0);
      close(matmul(u, u, n, true), gaussJordanInverse(a, n), 1e-8);
      // the OBS identity SparseGPT relies on: for F = j..n-1, [(A_F)^-1]_00 = U_jj^2
      const j = Math.floor(n / 2);
      const m = n - j;
      const sub = new Float64Array(m * m);
      for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) sub[r * m + c] = a[(j + r) * n + j + c] as number;
      expect((u[j * n + j] as number) ** 2).toBeCloseTo(gaussJordanInverse(sub, m)[0] as number, 8);
    }), { numRuns: 40 });
  });

  it('rejects a matrix that is not positive definite, naming the pivot', () => {
    const a = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3 and -1
    expect(() => cholesky(a, 2)).toThrow(InputError);
    expect(() => cholesky(a, 2)).toThrow(/pivot 1/);
    expect(() => cholesky(Float64Array.from([NaN]), 1)).toThrow(InputError);
    expect(() => cholesky(new Float64Array(3), 2)).toThrow(InputError);
  });
});
