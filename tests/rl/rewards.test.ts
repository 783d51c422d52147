import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { perTokenRewards } from '../../src/rl/index';
import { ConfigError, InputError } from '../../src/errors';
import { anyMask, close, dims, f32, flat, t2, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('perTokenRewards', () => {
  it('score at the last real token, -beta * kl on real tokens, 0 on padding (arbitrary masks)', () => {
    const c = dims.chain(({ B, T }) =>
      fc.record({
        B: fc.constant(B),
        T: fc.constant(T),
        scores: flat(f32(10), B),
        kl: flat(f32(3), B * T),
        m: anyMask(B, T),
        beta: uniform(0, 1),
      }),
    );
    fc.assert(
      fc.property(c, ({ B, T, scores, kl, m, beta }) => {
        const expected: number[] = [];
        for (let b = 0; b < B; b++) {
          let last = -1;
          for (let t = 0; t < T; t++) if (m[b * T + t]) last = t;
          for (let t = 0; t < T; t++) {
            const i = b * T + t;
            expected.push(m[i] ? -beta * kl[i]! + (t === last ? scores[b]! : 0) : 0);
          }
        }
        const [s, k, mt] = [tf.tensor1d(scores), t2(kl, B, T), t2(m, B, T)];
        const got = take(perTokenRewards({ scores: s, kl: k, mask: mt, klCoef: beta }));
        close(got, expected, 1e-5);
        got.forEach((g, i) => {
          if (!m[i]) expect(g).toBe(0);
        });
        tf.dispose([s, k, mt]);
      }),
    );
  });

  it('handles left padding, NaN kl on padding and empty rows', () => {
    const out = perTokenRewards({
      scores: tf.tensor1d([5, 7, 9]),
      kl: t2([NaN, 1, 2, 1, 1, Infinity, 3, 3, 3], 3, 3),
      mask: t2([0, 1, 1, 1, 1, 0, 0, 0, 0], 3, 3),
      klCoef: 0.5,
    });
    expect(take(out)).toEqual([0, -0.5, 4, -0.5, 6.5, 0, 0, 0, 0]);
  });

  it('validates shapes and klCoef; does not leak', () => {
    const [s, k, m] = [tf.tensor1d([1, 2]), tf.zeros([2, 3]), tf.ones([2, 3])];
    expect(() => perTokenRewards({ scores: tf.zeros([3]), kl: k, mask: m, klCoef: 0.1 })).toThrow(InputError);
    expect(() => perTokenRewards({ scores: s, kl: k, mask: tf.ones([2, 2]), klCoef: 0.1 })).toThrow(InputError);
    expect(() => perTokenRewards({ scores: s, kl: k, mask: m, klCoef: -0.1 })).toThrow(ConfigError);
    expectNoLeaks(() => tf.tidy(() => {
      perTokenRewards({ scores: s, kl: k, mask: m, klCoef: 0.1 });
    }));
    expectNoLeaks(() => perTokenRewards({ scores: s, kl: k, mask: m, klCoef: 0.1 }), { kept: 1 }).dispose();
  });
});
