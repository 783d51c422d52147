import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { gae } from '../../src/rl/index';
import { ConfigError, InputError } from '../../src/errors';
import { anyMask, close, dims, f32, flat, rightPaddedMask, t2, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * Textbook GAE on each row with its padding removed: A_k = sum_l (gamma lam)^l delta_{k+l},
 * delta_k = r_k + gamma V_{k+1} - V_k, V after the last real step = 0; scattered back, 0 on padding.
 */
function refCompressed(r: number[], v: number[], m: number[], B: number, T: number, gamma: number, lam: number) {
  const adv = new Array<number>(B * T).fill(0);
  const ret = new Array<number>(B * T).fill(0);
  for (let b = 0; b < B; b++) {
    const idx: number[] = [];
    for (let t = 0; t < T; t++) if (m[b * T + t]) idx.push(b * T + t);
    const n = idx.length;
    const delta = idx.map((i, k) => r[i]! + gamma * (k + 1 < n ? v[idx[k + 1]!]! : 0) - v[i]!);
    for (let k = 0; k < n; k++) {
      let a = 0;
      for (let l = 0; k + l < n; l++) a += (gamma * lam) ** l * delta[k + l]!;
      adv[idx[k]!] = a;
      ret[idx[k]!] = a + v[idx[k]!]!;
    }
  }
  return { adv, ret };
}

/** TRL's loop (values and rewards of padding set to 0, scan over all T, then masked). */
function refTrl(r: number[], v: number[], m: number[], B: number, T: number, gamma: number, lam: number) {
  const adv = new Array<number>(B * T).fill(0);
  for (let b = 0; b < B; b++) {
    let last = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = b * T + t;
      const next = t < T - 1 ? v[i + 1]! * m[i + 1]! : 0;
      const delta = r[i]! * m[i]! + gamma * next - v[i]! * m[i]!;
      last = delta + gamma * lam * last;
      adv[i] = last * m[i]!;
    }
  }
  return adv;
}

const unit = fc.oneof({ arbitrary: uniform(0, 1), weight: 4 }, { arbitrary: fc.constantFrom(0, 1), weight: 1 });

function batch(maskArb: (B: number, T: number) => fc.Arbitrary<number[]>) {
  return dims.chain(({ B, T }) =>
    fc.record({
      B: fc.constant(B),
      T: fc.constant(T),
      r: flat(f32(5), B * T),
      v: flat(f32(5), B * T),
      m: maskArb(B, T),
      gamma: unit,
      lam: unit,
    }),
  );
}

function runGae(r: number[], v: number[], m: number[], B: number, T: number, gamma: number, lam: number) {
  const [rt, vt, mt] = [t2(r, B, T), t2(v, B, T), t2(m, B, T)];
  const out = gae(rt, vt, mt, { gamma, lam });
  tf.dispose([rt, vt, mt]);
  return { adv: take(out.advantages), ret: take(out.returns) };
}

describe('gae', () => {
  it('equals textbook GAE on the row with padding removed (arbitrary masks)', () => {
    fc.assert(
      fc.property(batch(anyMask), ({ B, T, r, v, m, gamma, lam }) => {
        const got = runGae(r, v, m, B, T, gamma, lam);
        const ref = refCompressed(r, v, m, B, T, gamma, lam);
        close(got.adv, ref.adv, 1e-4);
        close(got.ret, ref.ret, 1e-4);
      }),
      { numRuns: 200 },
    );
  });

  it('equals the TRL loop on right-padded masks, and returns = advantages + values on real steps', () => {
    fc.assert(
      fc.property(batch(rightPaddedMask), ({ B, T, r, v, m, gamma, lam }) => {
        const got = runGae(r, v, m, B, T, gamma, lam);
        close(got.adv, refTrl(r, v, m, B, T, gamma, lam), 1e-4);
        got.ret.forEach((x, i) => {
          const expected = m[i] ? got.adv[i]! + v[i]! : 0;
          expect(Math.abs(x - expected)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected)));
        });
      }),
      { numRuns: 200 },
    );
  });

  it('left padding gives the same real-step results as right padding', () => {
    const r = [1, 2, 3];
    const v = [0.5, -1, 2];
    const right = runGae([...r, 0, 0], [...v, 0, 0], [1, 1, 1, 0, 0], 1, 5, 0.9, 0.8);
    const left = runGae([NaN, 7, ...r], [Infinity, 3, ...v], [0, 0, 1, 1, 1], 1, 5, 0.9, 0.8);
    close(left.adv.slice(2), right.adv.slice(0, 3), 1e-6);
    close(left.ret.slice(2), right.ret.slice(0, 3), 1e-6);
    expect(left.adv.slice(0, 2)).toEqual([0, 0]);
    expect(left.ret.slice(0, 2)).toEqual([0, 0]);
  });

  it('uses defaults gamma = 1, lam = 0.95 and validates options and shapes', () => {
    const [r, v, m] = [t2([0, 1], 1, 2), t2([0.5, 0.25], 1, 2), t2([1, 1], 1, 2)];
    const out = gae(r, v, m);
    // delta = [0 + 0.25 - 0.5, 1 - 0.25] = [-0.25, 0.75]; A = [-0.25 + 0.95 * 0.75, 0.75]
    close(take(out.advantages), [-0.25 + 0.95 * 0.75, 0.75], 1e-6);
    out.returns.dispose();
    expect(() => gae(r, v, m, { gamma: 1.5 })).toThrow(ConfigError);
    expect(() => gae(r, v, m, { lam: NaN })).toThrow(ConfigError);
    expect(() => gae(r, tf.zeros([2, 1]), m)).toThrow(InputError);
    expect(() => gae(tf.zeros([2]), tf.zeros([2]), tf.zeros([2]))).toThrow(InputError);
    tf.dispose([r, v, m]);
  });

  it('does not leak', () => {
    const [r, v, m] = [t2([1, 2, 3, 4], 2, 2), t2([1, 1, 1, 1], 2, 2), t2([1, 0, 0, 1], 2, 2)];
    expectNoLeaks(() => tf.tidy(() => {
      gae(r, v, m, { gamma: 0.9 });
    }));
    const out = expectNoLeaks(() => gae(r, v, m), { kept: 2 }); // exactly its two outputs
    expectNoLeaks(() => tf.dispose([out.advantages, out.returns]), { kept: -2 });
    tf.dispose([r, v, m]);
  });
});
