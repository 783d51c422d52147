import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { dpoLoss, plackettLuceLoss } from '../../src/rl/index';
import { ConfigError, InputError } from '../../src/errors';
import { expectNoLeaks } from '../helpers/leaks';
import { close, flat, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const lp = uniform(-30, -1).map(Math.fround);
const logSigmoid = (x: number) => -Math.log1p(Math.exp(-x));

/** Reference PL loss with Breslow ties, in float64. */
function jsPl(s: number[], ranks: number[]): number {
  let l = 0;
  for (let i = 0; i < s.length; i++) {
    const risk = s.filter((_, j) => ranks[j]! >= ranks[i]!);
    if (!ranks.some((r) => r > ranks[i]!)) continue;
    const mx = Math.max(...risk);
    l -= s[i]! - (mx + Math.log(risk.reduce((a, x) => a + Math.exp(x - mx), 0)));
  }
  return l;
}

describe('dpoLoss', () => {
  it('matches the formulas of sigmoid, cDPO, robust, IPO and hinge (float64 reference)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }).chain((P) => fc.record({
      pw: flat(lp, P), pl: flat(lp, P), rw: flat(lp, P), rl: flat(lp, P),
      beta: uniform(0.05, 1), eps: uniform(0, 0.45),
    })), ({ pw, pl, rw, rl, beta, eps }) => {
      const h = pw.map((_, i) => pw[i]! - rw[i]! - (pl[i]! - rl[i]!));
      const expected: Record<string, (x: number) => number> = {
        sigmoid: (x) => -(1 - eps) * logSigmoid(beta * x) - eps * logSigmoid(-beta * x),
        robust: (x) => (-(1 - eps) * logSigmoid(beta * x) + eps * logSigmoid(-beta * x)) / (1 - 2 * eps),
        ipo: (x) => (x - 1 / (2 * beta)) ** 2,
        hinge: (x) => Math.max(0, 1 - beta * x),
      };
      for (const lossType of ['sigmoid', 'robust', 'ipo', 'hinge'] as const) {
        const labelSmoothing = lossType === 'sigmoid' || lossType === 'robust' ? eps : 0;
        const out = dpoLoss({
          policyChosenLogps: tf.tensor1d(pw), policyRejectedLogps: tf.tensor1d(pl),
          refChosenLogps: tf.tensor1d(rw), refRejectedLogps: tf.tensor1d(rl), beta, lossType, labelSmoothing,
        });
        const want = h.map(expected[lossType]!);
        close(take(out.losses), want, 1e-3, 1);
        close(take(out.loss), [want.reduce((a, x) => a + x, 0) / want.length], 1e-3, 1);
        close(take(out.chosenRewards), pw.map((x, i) => beta * (x - rw[i]!)), 1e-4, 1);
        close(take(out.rejectedRewards), pl.map((x, i) => beta * (x - rl[i]!)), 1e-4, 1);
      }
    }), { numRuns: 40 });
  });

  it('at policy = reference the loss is ln 2 and every reward 0, without leaks', () => {
    const x = tf.tensor1d([-3, -7, -12]);
    const y = tf.tensor1d([-5, -2, -9]);
    expectNoLeaks(() => {
      const out = dpoLoss({ policyChosenLogps: x, policyRejectedLogps: y, refChosenLogps: x, refRejectedLogps: y });
      close(take(out.loss), [Math.LN2], 1e-6);
      expect(take(out.chosenRewards)).toEqual([0, 0, 0]);
      expect(take(out.rejectedRewards)).toEqual([0, 0, 0]);
      out.losses.dispose();
    });
    tf.dispose([x, y]);
  });

  it('gradient raises the chosen log-prob and lowers the rejected one; the reference gets none', () => {
    const w = tf.tensor1d([-4, -6]);
    const l = tf.tensor1d([-5, -3]);
    const r = tf.tensor1d([-4.5, -4.5]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => dpoLoss({ policyChosenLogps: a, policyRejectedLogps: b, refChosenLogps: c, refRejectedLogps: c }).loss);
    const [gw, gl, gr] = g([w, l, r]);
    expect(Array.from(gw!.dataSync()).every((v) => v < 0)).toBe(true);
    expect(Array.from(gl!.dataSync()).every((v) => v > 0)).toBe(true);
    expect(Array.from(gr!.dataSync())).toEqual([0, 0]);
    tf.dispose([w, l, r, gw!, gl!, gr!]);
  });

  it('rejects bad options and shapes with typed errors', () => {
    const a = tf.tensor1d([-1, -2]);
    const b = tf.tensor1d([-1]);
    const base = { policyChosenLogps: a, policyRejectedLogps: a, refChosenLogps: a, refRejectedLogps: a };
    expect(() => dpoLoss({ ...base, beta: 0 })).toThrow(ConfigError);
    expect(() => dpoLoss({ ...base, lossType: 'kto' as never })).toThrow(/lossType/);
    expect(() => dpoLoss({ ...base, labelSmoothing: 0.5 })).toThrow(ConfigError);
    expect(() => dpoLoss({ ...base, lossType: 'ipo', labelSmoothing: 0.1 })).toThrow(ConfigError);
    expect(() => dpoLoss({ ...base, refRejectedLogps: b })).toThrow(InputError);
    tf.dispose([a, b]);
  });
});

describe('plackettLuceLoss', () => {
  it('K = 2 equals the DPO sigmoid loss', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }).chain((N) => fc.record({
      pw: flat(lp, N), pl: flat(lp, N), rw: flat(lp, N), rl: flat(lp, N), beta: uniform(0.05, 2),
    })), ({ pw, pl, rw, rl, beta }) => {
      const N = pw.length;
      const dpo = dpoLoss({ policyChosenLogps: tf.tensor1d(pw), policyRejectedLogps: tf.tensor1d(pl), refChosenLogps: tf.tensor1d(rw), refRejectedLogps: tf.tensor1d(rl), beta });
      // chosen stored second in odd rows: storage order must not matter
      const rows = (a: number[], b: number[]) => a.map((x, i) => (i % 2 ? [b[i]!, x] : [x, b[i]!]));
      const ranks = pw.map((_, i) => (i % 2 ? [1, 0] : [0, 1]));
      const pl2 = plackettLuceLoss({ policyLogps: tf.tensor2d(rows(pw, pl), [N, 2]), refLogps: tf.tensor2d(rows(rw, rl), [N, 2]), ranks: tf.tensor2d(ranks, [N, 2]), beta });
      close(take(pl2.losses), take(dpo.losses), 1e-4, 1);
      tf.dispose([dpo.loss, dpo.chosenRewards, dpo.rejectedRewards, pl2.loss, pl2.rewards]);
    }), { numRuns: 50 });
  });

  it('matches a float64 reference with ties and is invariant to the storage order', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 6 }).chain((K) => fc.record({
      p: flat(lp, K), r: flat(lp, K), ranks: flat(fc.integer({ min: 0, max: K - 1 }), K), perm: fc.shuffledSubarray([...Array(K).keys()], { minLength: K, maxLength: K }), beta: uniform(0.05, 1),
    })), ({ p, r, ranks, perm, beta }) => {
      const K = p.length;
      const run = (order: number[]) => take(plackettLuceLoss({
        policyLogps: tf.tensor2d([order.map((i) => p[i]!)], [1, K]), refLogps: tf.tensor2d([order.map((i) => r[i]!)], [1, K]),
        ranks: tf.tensor2d([order.map((i) => ranks[i]!)], [1, K]), beta,
      }).losses)[0]!;
      const a = run([...Array(K).keys()]);
      const b = run(perm);
      const want = jsPl(p.map((x, i) => beta * (x - r[i]!)), ranks);
      close([a], [want], 1e-3, 1);
      close([b], [a], 1e-4, 1);
    }), { numRuns: 60 });
  });

  it('all-tied rankings give zero loss; padding (even NaN) is ignored with zero gradient', () => {
    const out = plackettLuceLoss({ policyLogps: tf.tensor2d([[-1, -2, -3]]), refLogps: tf.tensor2d([[-2, -2, -2]]), ranks: tf.tensor2d([[1, 1, 1]]) });
    expect(take(out.loss)).toEqual([0]);
    tf.dispose([out.losses, out.rewards]);
    const ref = tf.tensor2d([[-2, -3, 0]]);
    const ranks = tf.tensor2d([[0, 1, 0]]);
    const mask = tf.tensor2d([[1, 1, 0]]);
    const x = tf.tensor2d([[-1, -4, NaN]]);
    const f = (t: tf.Tensor) => plackettLuceLoss({ policyLogps: t, refLogps: ref, ranks, mask, beta: 0.5 }).loss;
    const plain = dpoLoss({ policyChosenLogps: tf.tensor1d([-1]), policyRejectedLogps: tf.tensor1d([-4]), refChosenLogps: tf.tensor1d([-2]), refRejectedLogps: tf.tensor1d([-3]), beta: 0.5 });
    close(take(tf.tidy(() => f(x))), take(plain.loss), 1e-5);
    const gv = take(tf.tidy(() => tf.grad(f)(x)));
    expect(gv[2]).toBe(0);
    expect(gv.every(Number.isFinite)).toBe(true);
    expect(gv[0]).toBeLessThan(0);
    tf.dispose([plain.losses, plain.chosenRewards, plain.rejectedRewards, ref, ranks, mask, x]);
  });

  it('rejects wrong ranks and shapes', () => {
    const a = tf.tensor2d([[-1, -2]]);
    expect(() => plackettLuceLoss({ policyLogps: a, refLogps: a, ranks: tf.tensor2d([[0, 1, 2]]) })).toThrow(InputError);
    expect(() => plackettLuceLoss({ policyLogps: tf.tensor1d([1]), refLogps: a, ranks: a })).toThrow(InputError);
    expect(() => plackettLuceLoss({ policyLogps: a, refLogps: a, ranks: a, beta: -1 })).toThrow(ConfigError);
  });
});
