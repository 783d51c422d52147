import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { AdaptiveKLController, FixedKLController, klPenalty } from '../../src/rl/index';
import { ConfigError, InputError } from '../../src/errors';
import { f32, flat, mulberry32, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const pairs = fc.integer({ min: 1, max: 64 }).chain((n) =>
  fc.record({
    lp: flat(f32(20), n),
    // tiny and large differences alike: exercises float rounding of exp(logr) - 1 - logr
    d: flat(fc.oneof(f32(1e-3), f32(1), f32(10)), n),
  }),
);

describe('klPenalty', () => {
  it('k1 = -logr exactly, k2 = logr^2 / 2 >= 0, k3 = exp(logr) - 1 - logr >= 0', () => {
    fc.assert(
      fc.property(pairs, ({ lp, d }) => {
        const ref = lp.map((x, i) => Math.fround(x + d[i]!));
        const [a, b] = [tf.tensor1d(lp), tf.tensor1d(ref)];
        const k1 = take(klPenalty(a, b));
        const k2 = take(klPenalty(a, b, 'k2'));
        const k3 = take(klPenalty(a, b, 'k3'));
        lp.forEach((x, i) => {
          const logr = Math.fround(ref[i]! - x);
          expect(k1[i]).toBe(Math.fround(-logr));
          expect(k2[i]).toBeGreaterThanOrEqual(0);
          expect(k3[i]).toBeGreaterThanOrEqual(0);
          const e3 = Math.expm1(logr) - logr;
          expect(Math.abs(k3[i]! - e3)).toBeLessThanOrEqual(1e-5 * Math.max(1, e3));
          expect(Math.abs(k2[i]! - (logr * logr) / 2)).toBeLessThanOrEqual(1e-6 * Math.max(1, logr * logr));
        });
        tf.dispose([a, b]);
      }),
      { numRuns: 200 },
    );
  });

  it('k1 and k3 are unbiased: their mean over samples x ~ q approaches KL(q || p)', () => {
    const rng = mulberry32(1234);
    const N = 200_000;
    for (let trial = 0; trial < 3; trial++) {
      const raw = [0, 1, 2, 3].map(() => [0.2 + rng(), 0.2 + rng()]);
      const zq = raw.reduce((s, r) => s + r[0]!, 0);
      const zp = raw.reduce((s, r) => s + r[1]!, 0);
      const q = raw.map((r) => r[0]! / zq);
      const p = raw.map((r) => r[1]! / zp);
      const kl = q.reduce((s, qi, i) => s + qi * Math.log(qi / p[i]!), 0);
      const lq = new Float32Array(N);
      const lpRef = new Float32Array(N);
      for (let j = 0; j < N; j++) {
        let u = rng();
        let k = 0;
        while (k < 3 && u >= q[k]!) u -= q[k++]!;
        lq[j] = Math.log(q[k]!);
        lpRef[j] = Math.log(p[k]!);
      }
      const [a, b] = [tf.tensor2d(lq, [N / 1000, 1000]), tf.tensor2d(lpRef, [N / 1000, 1000])];
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      // standard error of each estimator under q, from the exact distribution
      const se = (f: (i: number) => number) => {
        const m = q.reduce((s, qi, i) => s + qi * f(i), 0);
        return Math.sqrt(q.reduce((s, qi, i) => s + qi * (f(i) - m) ** 2, 0) / N);
      };
      const k1se = se((i) => Math.log(q[i]! / p[i]!));
      const k3se = se((i) => p[i]! / q[i]! - 1 - Math.log(p[i]! / q[i]!));
      expect(Math.abs(mean(take(klPenalty(a, b, 'k1'))) - kl)).toBeLessThan(5 * k1se + 1e-6);
      expect(Math.abs(mean(take(klPenalty(a, b, 'k3'))) - kl)).toBeLessThan(5 * k3se + 1e-6);
      expect(mean(take(klPenalty(a, b, 'k2')))).toBeGreaterThanOrEqual(0);
      tf.dispose([a, b]);
    }
  });

  it('validates the estimator and shapes; does not leak', () => {
    const a = tf.zeros([2, 3]);
    expect(() => klPenalty(a, a, 'k4' as 'k1')).toThrow(ConfigError);
    expect(() => klPenalty(a, tf.zeros([3, 2]))).toThrow(InputError);
    expectNoLeaks(() => tf.tidy(() => {
      klPenalty(a, a, 'k1');
      klPenalty(a, a, 'k2');
      klPenalty(a, a, 'k3');
    }));
    expectNoLeaks(() => klPenalty(a, a, 'k3'), { kept: 1 }).dispose();
  });
});

describe('KL controllers', () => {
  it('adaptive: one update follows beta *= 1 + clip(KL/target - 1, -0.2, 0.2) * n / horizon', () => {
    const c = new AdaptiveKLController({ initKlCoef: 0.1 });
    expect(c.target).toBe(6);
    expect(c.horizon).toBe(10000);
    c.update(12, 512); // error 1 -> clipped to 0.2: increases
    expect(c.value).toBeCloseTo(0.1 * (1 + (0.2 * 512) / 10000), 15);
    const c2 = new AdaptiveKLController({ initKlCoef: 0.1 });
    c2.update(1, 512); // error -5/6 -> clipped to -0.2: decreases
    expect(c2.value).toBeCloseTo(0.1 * (1 - (0.2 * 512) / 10000), 15);
    const c3 = new AdaptiveKLController({ initKlCoef: 0.1, target: 6, horizon: 1000 });
    c3.update(7, 100); // error 1/6, inside the clip
    expect(c3.value).toBeCloseTo(0.1 * (1 + ((7 / 6 - 1) * 100) / 1000), 15);
    const c4 = new AdaptiveKLController({ initKlCoef: 0.1 });
    c4.update(6, 512); // on target: unchanged
    expect(c4.value).toBe(0.1);
  });

  it('adaptive: property over random KL, n, target and horizon', () => {
    fc.assert(
      fc.property(
        uniform(1e-3, 1),
        uniform(0, 50),
        fc.integer({ min: 0, max: 4096 }),
        uniform(0.5, 20),
        fc.integer({ min: 1000, max: 20000 }),
        (beta, kl, n, target, horizon) => {
          const c = new AdaptiveKLController({ initKlCoef: beta, target, horizon });
          c.update(kl, n);
          const e = Math.min(Math.max(kl / target - 1, -0.2), 0.2);
          expect(Math.abs(c.value - beta * (1 + (e * n) / horizon))).toBeLessThanOrEqual(1e-15);
          if (n > 0 && kl > target) expect(c.value).toBeGreaterThan(beta);
          if (n > 0 && kl < target) expect(c.value).toBeLessThan(beta);
          expect(c.value).toBeLessThanOrEqual(beta * (1 + (0.2 * n) / horizon) + 1e-15);
          expect(c.value).toBeGreaterThanOrEqual(beta * (1 - (0.2 * n) / horizon) - 1e-15);
        },
      ),
    );
  });

  it('fixed: never changes; state round trips; options are validated', () => {
    const f = new FixedKLController(0.05);
    for (const kl of [0, 3, 100, -1]) f.update(kl, 256);
    expect(f.value).toBe(0.05);
    expect(f.getState()).toEqual({ kind: 'fixed', value: 0.05 });
    const a = new AdaptiveKLController({ initKlCoef: 0.2 });
    a.update(10, 64);
    const b = new AdaptiveKLController({ initKlCoef: 0.2 });
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    expect(b.value).toBe(a.value);
    expect(() => b.setState(f.getState())).toThrow(InputError);
    expect(() => new FixedKLController(-1)).toThrow(ConfigError);
    expect(() => new FixedKLController(NaN)).toThrow(ConfigError);
    expect(() => new AdaptiveKLController({ initKlCoef: 0 })).toThrow(ConfigError);
    expect(() => new AdaptiveKLController({ initKlCoef: 0.1, target: -6 })).toThrow(ConfigError);
    expect(() => new AdaptiveKLController({ initKlCoef: 0.1, horizon: 0 })).toThrow(ConfigError);
    expect(() => a.update(NaN, 10)).toThrow(InputError);
    expect(() => a.update(1, -1)).toThrow(InputError);
    expect(() => a.update(1, 50000)).toThrow(InputError);
  });
});
