/** Shared test helpers for the PPO core tests (not a test file itself). */
import fc from 'fast-check';
import { expect } from 'vitest';
import { tf } from '../../src/tf';

/** Seeded uniform [0, 1) generator (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Asserts |a - e| <= tol * max(|e|, floor) elementwise. */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, floor = 1): void {
  expect(actual.length).toBe(expected.length);
  for (let j = 0; j < expected.length; j++) {
    const a = actual[j]!;
    const e = expected[j]!;
    const lim = tol * Math.max(Math.abs(e), floor);
    if (!(Math.abs(a - e) <= lim)) throw new Error(`index ${j}: got ${a}, expected ${e} (tol ${lim})`);
  }
}

/** A [B, T] batch description. */
export interface Batch {
  B: number;
  T: number;
}

/**
 * Doubles spread uniformly over [min, max]. (`fc.double` is uniform over the bit patterns, so almost
 * all of its values are tiny, which would make most generated cases trivial.)
 */
export function uniform(min: number, max: number): fc.Arbitrary<number> {
  const steps = 2 ** 24;
  return fc.noBias(fc.integer({ min: 0, max: steps })).map((i) => min + ((max - min) * i) / steps);
}

/** Float32-representable values in [-max, max]: mostly uniform, sometimes fast-check's special doubles (0, tiny). */
export function f32(max: number): fc.Arbitrary<number> {
  const special = fc.double({ min: -max, max, noNaN: true });
  return fc.oneof({ arbitrary: uniform(-max, max), weight: 5 }, { arbitrary: special, weight: 1 }).map((x) => Math.fround(x));
}

/** Arbitrary [B, T] dims. */
export const dims = fc.record({ B: fc.integer({ min: 1, max: 4 }), T: fc.integer({ min: 1, max: 8 }) });

/** A flat array of n values. */
export function flat<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T[]> {
  return fc.array(arb, { minLength: n, maxLength: n });
}

/** Right-padded mask: row b has a prefix of `len[b]` ones. */
export function rightPaddedMask(B: number, T: number): fc.Arbitrary<number[]> {
  return flat(fc.integer({ min: 0, max: T }), B).map((lens) => {
    const m: number[] = [];
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) m.push(t < lens[b]! ? 1 : 0);
    return m;
  });
}

/** Arbitrary 0/1 mask. */
export function anyMask(B: number, T: number): fc.Arbitrary<number[]> {
  return flat(fc.integer({ min: 0, max: 1 }), B * T);
}

/** Builds a [B, T] float32 tensor. */
export function t2(data: number[], B: number, T: number): tf.Tensor2D {
  return tf.tensor2d(data, [B, T], 'float32');
}

/** Synchronous read of a tensor as a plain array, disposing it. */
export function take(x: tf.Tensor): number[] {
  const out = Array.from(x.dataSync());
  x.dispose();
  return out;
}

/** Masked mean in float64. */
export function jsMaskedMean(x: number[], m: number[]): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    if (m[i]) {
      s += x[i]!;
      n++;
    }
  }
  return n === 0 ? 0 : s / n;
}
