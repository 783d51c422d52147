import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { expectNoLeaks } from '../helpers/leaks';
import { entropyFromLogits, maskedMean, ppoPolicyLoss, ppoValueLoss } from '../../src/rl/index';
import { ConfigError, InputError } from '../../src/errors';
import { anyMask, close, dims, f32, flat, jsMaskedMean, t2, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const EPS = 0.2;
const LO = Math.log(1 - EPS);
const HI = Math.log(1 + EPS);

/** Log-ratio arbitrary: at least 1e-3 away from the clip boundaries, so float32 vs float64 agree. */
function logRatioArb(inside: boolean): fc.Arbitrary<number> {
  const a = inside
    ? uniform(LO + 1e-3, HI - 1e-3)
    : uniform(-1, 1).filter((d) => Math.abs(d - LO) > 1e-3 && Math.abs(d - HI) > 1e-3);
  return a.map((d) => Math.fround(d));
}

function policyCase(inside: boolean) {
  return dims.chain(({ B, T }) =>
    fc.record({
      B: fc.constant(B),
      T: fc.constant(T),
      old: flat(f32(5).map((x) => Math.fround(x - 6)), B * T),
      d: flat(logRatioArb(inside), B * T),
      // no denormals: float32 and float64 would disagree on which term is larger
      A: flat(fc.oneof({ arbitrary: uniform(-3, 3), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 }).map(Math.fround), B * T),
      m: anyMask(B, T).filter((mm) => mm.some(Boolean)),
    }),
  );
}

interface Ref {
  loss: number;
  clipFrac: number;
  grad: number[];
  active: boolean[];
  ratioMean: number;
}

/** PPO clipped loss from the formula in float64, with d/dlogp of the masked mean. */
function refPolicy(lp: number[], old: number[], A: number[], m: number[]): Ref {
  const n = m.filter(Boolean).length;
  const pg: number[] = [];
  const ratios: number[] = [];
  const chosen: number[] = [];
  const grad: number[] = [];
  const active: boolean[] = [];
  lp.forEach((l, i) => {
    const ratio = Math.exp(Math.fround(l - old[i]!));
    const a = A[i]!;
    const un = -a * ratio;
    const cl = -a * Math.min(Math.max(ratio, 1 - EPS), 1 + EPS);
    pg.push(Math.max(un, cl));
    ratios.push(ratio);
    active.push(cl > un);
    chosen.push(cl > un ? 1 : 0);
    grad.push(m[i] && !(cl > un) ? (-a * ratio) / n : 0);
  });
  return { loss: jsMaskedMean(pg, m), clipFrac: jsMaskedMean(chosen, m), grad, active, ratioMean: jsMaskedMean(ratios, m) };
}

describe('ppoPolicyLoss', () => {
  it('equals the unclipped mean(-A * ratio) when every ratio is inside [1 - eps, 1 + eps]', () => {
    fc.assert(
      fc.property(policyCase(true), ({ B, T, old, d, A, m }) => {
        const lp = old.map((o, i) => Math.fround(o + d[i]!));
        const [lpt, oldt, At, mt] = [t2(lp, B, T), t2(old, B, T), t2(A, B, T), t2(m, B, T)];
        const out = ppoPolicyLoss({ logProbs: lpt, oldLogProbs: oldt, advantages: At, mask: mt });
        const unclipped = jsMaskedMean(lp.map((l, i) => -A[i]! * Math.exp(Math.fround(l - old[i]!))), m);
        close(take(out.loss), [unclipped], 1e-4, 1e-3);
        expect(take(out.clipFrac)).toEqual([0]);
        tf.dispose([lpt, oldt, At, mt, out.approxKl, out.approxKlK3, out.ratio]);
      }),
    );
  });

  it('matches the formula: loss, clipFrac, ratio, and a gradient that is zero where clipping is active', () => {
    fc.assert(
      fc.property(policyCase(false), ({ B, T, old, d, A, m }) => {
        const lp = old.map((o, i) => Math.fround(o + d[i]!));
        const ref = refPolicy(lp, old, A, m);
        const [lpt, oldt, At, mt] = [t2(lp, B, T), t2(old, B, T), t2(A, B, T), t2(m, B, T)];
        const out = ppoPolicyLoss({ logProbs: lpt, oldLogProbs: oldt, advantages: At, mask: mt });
        close(take(out.loss), [ref.loss], 1e-4, 1e-3);
        close(take(out.clipFrac), [ref.clipFrac], 1e-6);
        close(take(out.ratio), [ref.ratioMean], 1e-5);
        const g = take(tf.grad((x: tf.Tensor) => ppoPolicyLoss({ logProbs: x, oldLogProbs: oldt, advantages: At, mask: mt }).loss)(lpt));
        close(g, ref.grad, 1e-4, 1e-3);
        g.forEach((gi, i) => {
          if (ref.active[i] || !m[i]) expect(gi).toBe(0);
        });
        tf.dispose([lpt, oldt, At, mt, out.approxKl, out.approxKlK3]);
      }),
    );
  });

  it('with logProbs == oldLogProbs: ratio exactly 1, approxKl exactly 0, clipFrac 0, loss = -maskedMean(A)', () => {
    fc.assert(
      fc.property(policyCase(false), ({ B, T, old, A, m }) => {
        const [lpt, lpt2, At, mt] = [t2(old, B, T), t2(old, B, T), t2(A, B, T), t2(m, B, T)];
        const out = ppoPolicyLoss({ logProbs: lpt, oldLogProbs: lpt2, advantages: At, mask: mt });
        expect(take(out.ratio)).toEqual([1]);
        expect(take(out.approxKl)).toEqual([0]);
        expect(take(out.approxKlK3)).toEqual([0]);
        expect(take(out.clipFrac)).toEqual([0]);
        const negMean = take(maskedMean(tf.neg(At), mt));
        const loss = take(out.loss);
        expect(loss).toEqual(negMean);
        close(loss, [-jsMaskedMean(A, m)], 1e-5, 1e-3);
        tf.dispose([lpt, lpt2, At, mt]);
      }),
    );
  });

  it('approxKl = 0.5 mean(logratio^2) and approxKlK3 = mean(ratio - 1 - logratio)', () => {
    const lp = t2([-1, -2, -0.5, -3], 2, 2);
    const old = t2([-1.5, -2, -0.1, 9], 2, 2);
    const out = ppoPolicyLoss({ logProbs: lp, oldLogProbs: old, advantages: t2([1, 1, 1, 1], 2, 2), mask: t2([1, 1, 1, 0], 2, 2) });
    const lr = [0.5, 0, -0.4];
    close(take(out.approxKl), [(0.5 * lr.reduce((s, x) => s + x * x, 0)) / 3], 1e-5);
    close(take(out.approxKlK3), [lr.reduce((s, x) => s + Math.exp(x) - 1 - x, 0) / 3], 1e-5);
    tf.dispose([lp, old, out.loss, out.clipFrac, out.ratio]);
  });

  it('sends gradient to logProbs only, and ignores non-finite padding in value and gradient', () => {
    const lp = t2([-1, -2, -Infinity, -0.3], 2, 2);
    const old = t2([-1.1, -1.5, NaN, -0.3], 2, 2);
    const A = t2([1, -2, Infinity, 0.5], 2, 2);
    const m = t2([1, 1, 0, 1], 2, 2);
    const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => ppoPolicyLoss({ logProbs: a, oldLogProbs: b, advantages: c, mask: m }).loss;
    const [gl, go, ga] = tf.grads(f)([lp, old, A]);
    expect(take(go!)).toEqual([0, 0, 0, 0]);
    expect(take(ga!)).toEqual([0, 0, 0, 0]);
    const g = take(gl!);
    expect(g.every(Number.isFinite)).toBe(true);
    expect(g[2]).toBe(0);
    expect(Number.isFinite(take(f(lp, old, A))[0])).toBe(true);
    tf.dispose([lp, old, A, m]);
  });

  it('validates clipRange and shapes', () => {
    const x = tf.zeros([2, 2]);
    expect(() => ppoPolicyLoss({ logProbs: x, oldLogProbs: x, advantages: x, mask: x, clipRange: 0 })).toThrow(ConfigError);
    expect(() => ppoPolicyLoss({ logProbs: x, oldLogProbs: tf.zeros([2]), advantages: x, mask: x })).toThrow(InputError);
  });
});

describe('ppoValueLoss', () => {
  const valueCase = dims.chain(({ B, T }) =>
    fc.record({
      B: fc.constant(B),
      T: fc.constant(T),
      v: flat(f32(2), B * T),
      vo: flat(f32(2), B * T),
      R: flat(f32(2), B * T),
      m: anyMask(B, T),
      eps: uniform(0.05, 1).map(Math.fround),
    }),
  );

  it('equals the JS reference (loss and clipFrac) on random inputs; gradient only to values', () => {
    fc.assert(
      fc.property(valueCase, ({ B, T, v, vo, R, m, eps }) => {
        const l: number[] = [];
        const c: number[] = [];
        // float32 arithmetic op by op (as the CPU backend does), so that ties compare the same way
        const f = Math.fround;
        v.forEach((vi, i) => {
          const l1 = f(f(vi - R[i]!) ** 2);
          const vc = f(vo[i]! + Math.min(Math.max(f(vi - vo[i]!), -eps), eps));
          const l2 = f(f(vc - R[i]!) ** 2);
          l.push(Math.max(l1, l2));
          c.push(l2 > l1 ? 1 : 0);
        });
        const [vt, vot, Rt, mt] = [t2(v, B, T), t2(vo, B, T), t2(R, B, T), t2(m, B, T)];
        const out = ppoValueLoss({ values: vt, oldValues: vot, returns: Rt, mask: mt, clipRangeValue: eps });
        close(take(out.loss), [0.5 * jsMaskedMean(l, m)], 1e-4, 1e-3);
        close(take(out.clipFrac), [jsMaskedMean(c, m)], 1e-6);
        const loss = (a: tf.Tensor, b: tf.Tensor, r: tf.Tensor) => ppoValueLoss({ values: a, oldValues: b, returns: r, mask: mt, clipRangeValue: eps }).loss;
        const [, go, gr] = tf.grads(loss)([vt, vot, Rt]);
        expect(take(go!).every((x) => x === 0)).toBe(true);
        expect(take(gr!).every((x) => x === 0)).toBe(true);
        tf.dispose([vt, vot, Rt, mt]);
      }),
    );
  });

  it('clipped case by hand: V moved beyond eps_v from V_old away from R', () => {
    // V = 1, V_old = 0, R = -1, eps = 0.2: l1 = 4, clipped V = 0.2, l2 = 1.44 -> max 4, not clipped
    // V = 1, V_old = 0, R = 2: l1 = 1, l2 = (0.2 - 2)^2 = 3.24 -> clipped chosen
    const out = ppoValueLoss({
      values: t2([1, 1], 1, 2), oldValues: t2([0, 0], 1, 2), returns: t2([-1, 2], 1, 2), mask: t2([1, 1], 1, 2),
    });
    close(take(out.loss), [0.5 * (4 + 3.24) / 2], 1e-6);
    close(take(out.clipFrac), [0.5], 1e-7);
  });
});

describe('entropyFromLogits', () => {
  it('equals -sum p log p from JS, log V for uniform, 0 for a one-hot with -Infinity logits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), fc.integer(), (R, V, seed) => {
        const data = Array.from({ length: R * V }, (_, i) => Math.fround(Math.sin(seed + i * 12.9898) * 4));
        const expected = Array.from({ length: R }, (_, r) => {
          const row = data.slice(r * V, (r + 1) * V);
          const mx = Math.max(...row);
          const z = row.reduce((s, x) => s + Math.exp(x - mx), 0);
          return -row.reduce((s, x) => s + (Math.exp(x - mx) / z) * (x - mx - Math.log(z)), 0);
        });
        const x = tf.tensor2d(data, [R, V]);
        close(take(entropyFromLogits(x)), expected, 1e-5);
        x.dispose();
      }),
    );
    const u = tf.zeros([2, 3, 4]);
    close(take(entropyFromLogits(u)), Array(6).fill(Math.log(4)), 1e-6);
    const oneHot = tf.tensor2d([[3, -Infinity, -Infinity]]);
    expect(Math.abs(take(entropyFromLogits(oneHot))[0]!)).toBe(0);
    const g = take(tf.grad((a: tf.Tensor) => tf.sum(entropyFromLogits(a)))(tf.tensor2d([[1, 2, -Infinity]])));
    expect(g.every(Number.isFinite)).toBe(true);
    expect(() => entropyFromLogits(tf.scalar(1))).toThrow(InputError);
  });
});

describe('no leaks', () => {
  it('leaves nothing inside tidy or grads, and returns only its outputs outside', () => {
    const x = t2([-1, -2, -3, -4], 2, 2);
    const y = t2([-1.2, -1.9, NaN, -4.5], 2, 2);
    const m = t2([1, 1, 0, 1], 2, 2);
    expectNoLeaks(() => tf.tidy(() => {
      ppoPolicyLoss({ logProbs: x, oldLogProbs: y, advantages: x, mask: m });
      ppoValueLoss({ values: x, oldValues: y, returns: x, mask: m });
      entropyFromLogits(x);
      tf.grad((a: tf.Tensor) => ppoPolicyLoss({ logProbs: a, oldLogProbs: y, advantages: x, mask: m }).loss)(x);
    }));
    const p = expectNoLeaks(() => ppoPolicyLoss({ logProbs: x, oldLogProbs: y, advantages: x, mask: m }), { kept: 5 });
    const v = expectNoLeaks(() => ppoValueLoss({ values: x, oldValues: y, returns: x, mask: m }), { kept: 2 });
    const e = expectNoLeaks(() => entropyFromLogits(x), { kept: 1 });
    tf.dispose([p.loss, p.clipFrac, p.approxKl, p.approxKlK3, p.ratio, v.loss, v.clipFrac, e]);
    const g = expectNoLeaks(() => tf.grad((a: tf.Tensor) => ppoValueLoss({ values: a, oldValues: y, returns: x, mask: m }).loss)(x), { kept: 1 });
    g.dispose();
    tf.dispose([x, y, m]);
  });
});
