import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { maskedMean, maskedVar, maskedWhiten } from '../../src/rl/index';
import { InputError } from '../../src/errors';
import { anyMask, close, dims, f32, flat, jsMaskedMean, t2, take } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function jsVar(x: number[], m: number[], unbiased: boolean): number {
  const mean = jsMaskedMean(x, m);
  let s = 0;
  let n = 0;
  x.forEach((v, i) => {
    if (m[i]) {
      s += (v - mean) ** 2;
      n++;
    }
  });
  if (n <= 1) return 0;
  return s / (unbiased ? n - 1 : n);
}

const sample = dims.chain(({ B, T }) =>
  fc.record({ B: fc.constant(B), T: fc.constant(T), x: flat(f32(100), B * T), m: anyMask(B, T) }),
);

describe('maskedMean', () => {
  it('equals the JS masked mean, overall and per row', () => {
    fc.assert(
      fc.property(sample, ({ B, T, x, m }) => {
        const [xt, mt] = [t2(x, B, T), t2(m, B, T)];
        close(take(maskedMean(xt, mt)), [jsMaskedMean(x, m)], 1e-5);
        const rows = take(maskedMean(xt, mt, 1));
        const expected = Array.from({ length: B }, (_, b) =>
          jsMaskedMean(x.slice(b * T, (b + 1) * T), m.slice(b * T, (b + 1) * T)),
        );
        close(rows, expected, 1e-5);
        tf.dispose([xt, mt]);
      }),
    );
  });

  it('ignores NaN and Infinity on padding; all-padding gives 0 with a finite gradient', () => {
    const x = t2([1, NaN, 3, -Infinity], 2, 2);
    const m = t2([1, 0, 1, 0], 2, 2);
    expect(take(maskedMean(x, m))).toEqual([2]);
    const zero = t2([0, 0, 0, 0], 2, 2);
    expect(take(maskedMean(x, zero, 1))).toEqual([0, 0]);
    const g = tf.grad((a: tf.Tensor) => maskedMean(a, zero))(t2([1, 2, 3, 4], 2, 2));
    expect(take(g)).toEqual([0, 0, 0, 0]);
    tf.dispose([x, m, zero]);
  });

  it('rejects mismatched shapes and bad axes with InputError', () => {
    const x = tf.zeros([2, 3]);
    expect(() => maskedMean(x, tf.zeros([3, 2]))).toThrow(InputError);
    expect(() => maskedMean(x, tf.zeros([2, 3]), 2)).toThrow(InputError);
    expect(() => maskedMean([1, 2] as unknown as tf.Tensor, x)).toThrow(InputError);
    const gone = tf.zeros([2, 3]);
    gone.dispose();
    expect(() => maskedVar(gone, x)).toThrow(InputError);
  });
});

describe('maskedVar', () => {
  it('is unbiased (Bessel) by default and biased on request, 0 when n <= 1', () => {
    fc.assert(
      fc.property(sample, ({ B, T, x, m }) => {
        const [xt, mt] = [t2(x, B, T), t2(m, B, T)];
        close(take(maskedVar(xt, mt)), [jsVar(x, m, true)], 1e-4, 1e-2);
        close(take(maskedVar(xt, mt, false)), [jsVar(x, m, false)], 1e-4, 1e-2);
        tf.dispose([xt, mt]);
      }),
    );
    const x = t2([5, 7], 1, 2);
    expect(take(maskedVar(x, t2([1, 0], 1, 2)))).toEqual([0]);
    expect(take(maskedVar(x, t2([0, 0], 1, 2)))).toEqual([0]);
    expect(take(maskedVar(x, t2([1, 1], 1, 2)))).toEqual([2]); // ((1)^2 + (1)^2) / (2 - 1)
  });
});

describe('maskedWhiten', () => {
  const spread = sample.filter(({ x, m }) => m.filter(Boolean).length >= 2 && jsVar(x, m, true) > 1e-2);

  it('gives masked mean ~0 and unbiased masked variance ~1 over real tokens, 0 on padding', () => {
    fc.assert(
      fc.property(spread, ({ B, T, x, m }) => {
        const [xt, mt] = [t2(x, B, T), t2(m, B, T)];
        const w = take(maskedWhiten(xt, mt));
        expect(Math.abs(jsMaskedMean(w, m))).toBeLessThan(1e-4);
        expect(Math.abs(jsVar(w, m, true) - 1)).toBeLessThan(1e-3);
        w.forEach((v, i) => {
          if (!m[i]) expect(v).toBe(0);
        });
        tf.dispose([xt, mt]);
      }),
    );
  });

  it('with shiftMean = false keeps the mean and scales the variance to ~1', () => {
    fc.assert(
      fc.property(spread, ({ B, T, x, m }) => {
        const [xt, mt] = [t2(x, B, T), t2(m, B, T)];
        const w = take(maskedWhiten(xt, mt, false));
        const mean = jsMaskedMean(x, m);
        expect(Math.abs(jsMaskedMean(w, m) - mean)).toBeLessThan(1e-4 * Math.max(1, Math.abs(mean)));
        expect(Math.abs(jsVar(w, m, true) - 1)).toBeLessThan(1e-3);
        tf.dispose([xt, mt]);
      }),
    );
  });

  it('matches the formula exactly on a small case', () => {
    const x = t2([1, 2, 3, 100], 2, 2);
    const m = t2([1, 1, 1, 0], 2, 2);
    // mean 2, unbiased var 1 -> (x - 2) / sqrt(1 + 1e-8)
    close(take(maskedWhiten(x, m)), [-1, 0, 1, 0], 1e-6);
    close(take(maskedWhiten(x, m, false)), [1, 2, 3, 0], 1e-6);
    tf.dispose([x, m]);
  });
});

describe('no leaks', () => {
  it('leaves nothing inside tidy and returns exactly one tensor per call outside', () => {
    const x = t2([1, 2, NaN, 4, 5, 6], 2, 3);
    const m = t2([1, 1, 0, 1, 1, 1], 2, 3);
    expectNoLeaks(() => tf.tidy(() => {
      maskedMean(x, m);
      maskedMean(x, m, 1);
      maskedVar(x, m);
      maskedWhiten(x, m, false);
    }));
    const outs = expectNoLeaks(() => [maskedMean(x, m), maskedMean(x, m, -1), maskedVar(x, m, false), maskedWhiten(x, m)], { kept: 4 });
    expectNoLeaks(() => tf.dispose(outs), { kept: -4 });
    tf.dispose([x, m]);
  });
});
