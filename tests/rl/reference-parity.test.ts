// Parity of the functional core (gae, ppoPolicyLoss, ppoValueLoss, maskedWhiten) with a plain-JS
// transcription of CleanRL ppo.py (tests/rl/cleanrl-reference.ts) on identical inputs: values and
// gradients, with padding (NaN on padded entries), all-padding rows, exact ties at the clip
// boundaries, and the whitening corner cases where the two differ on purpose (documented below).
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { gae, maskedWhiten, ppoPolicyLoss, ppoValueLoss } from '../../src/rl/index';
import { expectNoLeaks } from '../helpers/leaks';
import { cleanRlGae, cleanRlNormalize, cleanRlPolicyLoss, cleanRlValueLoss } from './cleanrl-reference';
import { close, f32, flat, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A CleanRL rollout `[T][N]` with episode ends, and the gamma/lambda to use. */
const rolloutArb = fc
  .record({ T: fc.integer({ min: 1, max: 10 }), N: fc.integer({ min: 1, max: 4 }) })
  .chain(({ T, N }) =>
    fc.record({
      T: fc.constant(T),
      N: fc.constant(N),
      rewards: flat(flat(f32(2), N), T),
      values: flat(flat(f32(5), N), T),
      dones: flat(flat(fc.integer({ min: 0, max: 3 }).map((k) => (k === 0 ? 1 : 0)), N), T),
      nextValue: flat(f32(5), N),
      gamma: fc.oneof(uniform(0, 1), fc.constantFrom(0, 1, 0.99)),
      lam: fc.oneof(uniform(0, 1), fc.constantFrom(0, 1, 0.95)),
      // padding inserted inside the rows: for each real step, how many padded slots precede it
      gaps: flat(flat(fc.integer({ min: 0, max: 2 }), N), T),
      emptyRows: fc.integer({ min: 0, max: 2 }),
    }),
  );

type Rollout = typeof rolloutArb extends fc.Arbitrary<infer R> ? R : never;

/**
 * CleanRL's `[T, N]` rollout as the core's padded `[B, L]` batch: one row per episode fragment, real
 * steps separated by random padding (NaN rewards and values), plus rows with no real step at all. A
 * fragment cut by the end of the rollout gets the bootstrap `gamma * next_value` in its last reward.
 */
function toRows(c: Rollout) {
  const rows: { cells: ({ t: number; e: number } | null)[] }[] = [];
  for (let e = 0; e < c.N; e++) {
    let cells: ({ t: number; e: number } | null)[] = [];
    for (let t = 0; t < c.T; t++) {
      for (let g = 0; g < c.gaps[t]![e]!; g++) cells.push(null);
      cells.push({ t, e });
      if (c.dones[t]![e] === 1 || t === c.T - 1) {
        rows.push({ cells });
        cells = [];
      }
    }
  }
  for (let k = 0; k < c.emptyRows; k++) rows.push({ cells: [null, null] });
  const L = Math.max(...rows.map((r) => r.cells.length));
  const B = rows.length;
  const r = new Array<number>(B * L).fill(NaN);
  const v = new Array<number>(B * L).fill(NaN);
  const m = new Array<number>(B * L).fill(0);
  rows.forEach(({ cells }, b) => {
    cells.forEach((cell, j) => {
      if (cell === null) return;
      const last = cells.slice(j + 1).every((x) => x === null);
      const boot = last && c.dones[cell.t]![cell.e] !== 1 ? c.gamma * c.nextValue[cell.e]! : 0;
      r[b * L + j] = c.rewards[cell.t]![cell.e]! + boot;
      v[b * L + j] = c.values[cell.t]![cell.e]!;
      m[b * L + j] = 1;
    });
  });
  return { rows, B, L, r, v, m };
}

describe('gae vs CleanRL GAE with dones and bootstrap', () => {
  it('gives the same advantages and returns, whatever the padding, with all-padding rows at 0', () => {
    fc.assert(
      fc.property(rolloutArb, (c) => {
        const ref = cleanRlGae(c.rewards, c.values, c.dones, c.nextValue, c.gamma, c.lam);
        const { rows, B, L, r, v, m } = toRows(c);
        const out = expectNoLeaks(() => {
          const [rt, vt, mt] = [tf.tensor2d(r, [B, L]), tf.tensor2d(v, [B, L]), tf.tensor2d(m, [B, L])];
          const res = gae(rt, vt, mt, { gamma: c.gamma, lam: c.lam });
          tf.dispose([rt, vt, mt]);
          return { adv: take(res.advantages), ret: take(res.returns) };
        });
        const gotAdv: number[] = [];
        const gotRet: number[] = [];
        const wantAdv: number[] = [];
        const wantRet: number[] = [];
        rows.forEach(({ cells }, b) => {
          for (let j = 0; j < L; j++) {
            const cell = cells[j];
            if (cell === undefined || cell === null) {
              // padding and all-padding rows: exactly 0
              expect(out.adv[b * L + j]).toBe(0);
              expect(out.ret[b * L + j]).toBe(0);
              continue;
            }
            gotAdv.push(out.adv[b * L + j]!);
            gotRet.push(out.ret[b * L + j]!);
            wantAdv.push(ref.advantages[cell.t]![cell.e]!);
            wantRet.push(ref.returns[cell.t]![cell.e]!);
          }
        });
        close(gotAdv, wantAdv, 1e-4);
        close(gotRet, wantRet, 1e-4);
      }),
      { numRuns: 150 },
    );
  });

  it('matches a hand-computed truncation: CleanRL treats a done as the end, with no bootstrap', () => {
    // One env, T = 3, the episode ends after step 1, a new one starts at step 2 and is cut by the rollout.
    const ref = cleanRlGae([[1], [1], [1]], [[0.5], [0.25], [2]], [[0], [1], [0]], [4], 0.5, 0.5);
    // step 1: delta = 1 - 0.25 = 0.75; step 0: delta = 1 + 0.5 * 0.25 - 0.5 = 0.625, A = 0.625 + 0.25 * 0.75
    // step 2: delta = 1 + 0.5 * 4 - 2 = 1 (bootstrapped by next_value)
    expect(ref.advantages.map((x) => x[0])).toEqual([0.8125, 0.75, 1]);
    const inputs = [tf.tensor2d([1, 1, 1 + 0.5 * 4, 0], [2, 2]), tf.tensor2d([0.5, 0.25, 2, 0], [2, 2]), tf.tensor2d([1, 1, 1, 0], [2, 2])] as const;
    const res = gae(...inputs, { gamma: 0.5, lam: 0.5 });
    expect(take(res.advantages)).toEqual([0.8125, 0.75, 1, 0]);
    expect(take(res.returns)).toEqual([1.3125, 1, 3, 0]);
    tf.dispose([...inputs]);
  });
});

const EPS = 0.2;
/** Float32 log-ratios, at least 1e-3 away from the clip boundaries (float32 vs float64 agree on the side). */
const logRatioArb = uniform(-0.6, 0.6)
  .filter((d) => Math.abs(d - Math.log(1 - EPS)) > 1e-3 && Math.abs(d - Math.log(1 + EPS)) > 1e-3)
  .map(Math.fround);
const advArb = fc.oneof({ arbitrary: uniform(-3, 3), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 }).map(Math.fround);

const policyArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.record({
    old: flat(f32(5).map((x) => Math.fround(x - 6)), n),
    d: flat(logRatioArb, n),
    A: flat(advArb, n),
    m: flat(fc.integer({ min: 0, max: 3 }).map((k) => (k === 0 ? 0 : 1)), n),
  }),
);

/** Runs ppoPolicyLoss on a [1, n] batch with NaN on padding; returns loss, metrics and d loss / d logProbs. */
function corePolicy(lp: number[], old: number[], A: number[], m: number[], clipRange = EPS) {
  const pad = (x: number[]) => x.map((v, i) => (m[i] ? v : NaN));
  const n = lp.length;
  return expectNoLeaks(() => {
    const [oldT, aT, mT, lpT] = [tf.tensor2d(pad(old), [1, n]), tf.tensor2d(pad(A), [1, n]), tf.tensor2d(m, [1, n]), tf.tensor2d(pad(lp), [1, n])];
    const metrics = ppoPolicyLoss({ logProbs: lpT, oldLogProbs: oldT, advantages: aT, mask: mT, clipRange });
    const grad = tf.grad((x: tf.Tensor) => ppoPolicyLoss({ logProbs: x, oldLogProbs: oldT, advantages: aT, mask: mT, clipRange }).loss)(lpT);
    const out = { loss: take(metrics.loss)[0]!, clipFrac: take(metrics.clipFrac)[0]!, k3: take(metrics.approxKlK3)[0]!, grad: take(grad) };
    tf.dispose([oldT, aT, mT, lpT, metrics.approxKl, metrics.ratio]);
    return out;
  });
}

/** The real entries of `x`, in order. */
const real = (x: number[], m: number[]) => x.filter((_, i) => m[i]);

/** TRL's clip fraction: steps where the clipped term is chosen strictly; `skip` is left out of the count (not of n). */
function trlClipFrac(logRatio: number[], A: number[], eps: number, skip = -1): number {
  const hits = logRatio.filter((lr, i) => {
    const r = Math.exp(lr);
    return i !== skip && ((r > 1 + eps && A[i]! > 0) || (r < 1 - eps && A[i]! < 0));
  });
  return hits.length / logRatio.length;
}

describe('ppoPolicyLoss vs CleanRL pg_loss', () => {
  it('same loss, gradient and approx_kl on the real steps; zero gradient on padding', () => {
    fc.assert(
      fc.property(policyArb.filter((c) => c.m.some(Boolean)), ({ old, d, A, m }) => {
        const lp = old.map((o, i) => Math.fround(o + d[i]!));
        const logRatio = lp.map((l, i) => Math.fround(l - old[i]!)); // what float32 tensors hold
        const ref = cleanRlPolicyLoss(real(logRatio, m), real(A, m), EPS);
        const got = corePolicy(lp, old, A, m);
        close([got.loss], [ref.loss], 1e-5);
        close([got.k3], [ref.approxKl], 1e-4, 1e-3);
        close(real(got.grad, m), ref.grad, 1e-5, 1e-3);
        got.grad.forEach((g, i) => {
          if (!m[i]) expect(g).toBe(0);
        });
        // clipFrac differs by definition: ours (TRL) counts the steps where the clipped term is chosen
        // strictly (zero gradient), CleanRL counts |ratio - 1| > clip whatever the advantage's sign.
        close([got.clipFrac], [trlClipFrac(real(logRatio, m), real(A, m), EPS)], 1e-6);
        expect(got.clipFrac).toBeLessThanOrEqual(ref.clipFrac + 1e-7);
      }),
      { numRuns: 200 },
    );
  });

  it('exact ties at the clip boundaries give the gradient PyTorch gives (the full unclipped one)', () => {
    fc.assert(
      fc.property(policyArb, fc.boolean(), fc.boolean(), (c, upper, positive) => {
        const { old, A } = c;
        const m = c.m.map((x, i) => (i === 0 ? 1 : x));
        const lp = old.map((o, i) => Math.fround(o + c.d[i]!));
        // put step 0 exactly on a boundary: choose the clip range from the float32 ratio the backend computes
        const d0 = upper ? Math.fround(0.1 + Math.abs(c.d[0]!) / 4) : -Math.fround(0.1 + Math.abs(c.d[0]!) / 4);
        lp[0] = Math.fround(old[0]! + d0);
        const r0 = take(tf.exp(tf.sub(tf.scalar(lp[0], 'float32'), tf.scalar(old[0]!, 'float32'))))[0]!;
        const eps = upper ? r0 - 1 : 1 - r0; // exact in float64, so 1 +- eps is exactly r0
        const A2 = A.map((a, i) => (i === 0 ? (positive ? 1.5 : -1.5) : a));
        const logRatio = lp.map((l, i) => Math.fround(l - old[i]!));
        // everyone else away from the new boundaries
        const safe = logRatio.every((lr, i) => i === 0 || !m[i] || (Math.abs(Math.exp(lr) - 1 - eps) > 1e-3 && Math.abs(1 - Math.exp(lr) - eps) > 1e-3));
        fc.pre(safe && eps > 0);
        const ref = cleanRlPolicyLoss(real(logRatio, m), real(A2, m), eps);
        const got = corePolicy(lp, old, A2, m, eps);
        const n = real(m, m).length;
        // on the tie, PyTorch splits the max's gradient in half and clamp passes it (inclusive bounds):
        // the total is -A * ratio / n, the unclipped gradient, which is what the core gives.
        close([got.grad[0]!], [(-A2[0]! * r0) / n], 1e-6, 1e-3);
        close([ref.grad[0]!], [(-A2[0]! * r0) / n], 1e-6, 1e-3);
        close([got.loss], [ref.loss], 1e-5);
        close(real(got.grad, m), ref.grad, 1e-5, 1e-3);
        // the tie itself is not counted as clipped (step 0 is the first real step)
        close([got.clipFrac], [trlClipFrac(real(logRatio, m), real(A2, m), eps, 0)], 1e-6);
      }),
      { numRuns: 150 },
    );
  });

  it('an all-padding batch gives loss 0 and zero gradient (CleanRL would take the mean of nothing: NaN)', () => {
    const got = corePolicy([1, 2], [0, 0], [1, -1], [0, 0]);
    expect(got.loss).toBe(0);
    expect(got.grad).toEqual([0, 0]);
    expect(Number.isNaN(cleanRlPolicyLoss([], [], EPS).loss)).toBe(true);
  });
});

const valueArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.record({
    V: flat(f32(3), n),
    dv: flat(fc.oneof({ arbitrary: uniform(-0.6, 0.6), weight: 4 }, { arbitrary: fc.constant(0), weight: 1 }), n),
    R: flat(f32(3), n),
    m: flat(fc.integer({ min: 0, max: 3 }).map((k) => (k === 0 ? 0 : 1)), n),
  }),
);

/** Runs ppoValueLoss on a [1, n] batch with NaN on padding; returns loss and d loss / d values. */
function coreValue(V: number[], Vold: number[], R: number[], m: number[], clipRangeValue = EPS) {
  const pad = (x: number[]) => x.map((v, i) => (m[i] ? v : NaN));
  const n = V.length;
  return expectNoLeaks(() => {
    const [vT, oT, rT, mT] = [tf.tensor2d(pad(V), [1, n]), tf.tensor2d(pad(Vold), [1, n]), tf.tensor2d(pad(R), [1, n]), tf.tensor2d(m, [1, n])];
    const res = ppoValueLoss({ values: vT, oldValues: oT, returns: rT, mask: mT, clipRangeValue });
    const grad = tf.grad((x: tf.Tensor) => ppoValueLoss({ values: x, oldValues: oT, returns: rT, mask: mT, clipRangeValue }).loss)(vT);
    const out = { loss: take(res.loss)[0]!, grad: take(grad) };
    tf.dispose([vT, oT, rT, mT, res.clipFrac]);
    return out;
  });
}

describe('ppoValueLoss vs CleanRL v_loss (clipped, 0.5 factor)', () => {
  it('same loss and gradient on the real steps, including V == V_old (a tie); zero gradient on padding', () => {
    fc.assert(
      fc.property(valueArb.filter((c) => c.m.some(Boolean)), ({ V, dv, R, m }) => {
        // V - V_old away from the clip boundary (float32 vs float64), or exactly 0
        const Vold = V.map((v, i) => Math.fround(v - (Math.abs(Math.abs(dv[i]!) - EPS) < 1e-3 ? 0 : dv[i]!)));
        const diff = V.map((v, i) => Math.fround(v - Vold[i]!));
        fc.pre(diff.every((x) => x === 0 || Math.abs(Math.abs(x) - EPS) > 1e-4));
        const ref = cleanRlValueLoss(real(V, m), real(Vold, m), real(R, m), EPS);
        const got = coreValue(V, Vold, R, m);
        close([got.loss], [ref.loss], 1e-5, 1e-3);
        close(real(got.grad, m), ref.grad, 1e-4, 1e-3);
        got.grad.forEach((g, i) => {
          if (!m[i]) expect(g).toBe(0);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('an all-padding batch gives loss 0 and zero gradient', () => {
    const got = coreValue([1, 2], [0, 0], [3, 3], [0, 0]);
    expect(got).toEqual({ loss: 0, grad: [0, 0] });
  });
});

/** maskedWhiten of a [1, n] batch with NaN on padding, real entries only. */
function coreWhiten(x: number[], m: number[]): number[] {
  return expectNoLeaks(() => {
    const [xt, mt] = [tf.tensor2d(x.map((v, i) => (m[i] ? v : NaN)), [1, x.length]), tf.tensor2d(m, [1, x.length])];
    const out = take(maskedWhiten(xt, mt));
    tf.dispose([xt, mt]);
    out.forEach((v, i) => {
      if (!m[i]) expect(v).toBe(0);
    });
    return real(out, m);
  });
}

describe('maskedWhiten vs CleanRL advantage normalisation', () => {
  it('both use the unbiased (n - 1) variance: [0, 2] whitens to -+0.7071, not -+1', () => {
    close(coreWhiten([0, 2], [1, 1]), [-Math.SQRT1_2, Math.SQRT1_2], 1e-6);
    close(cleanRlNormalize([0, 2]), [-Math.SQRT1_2, Math.SQRT1_2], 1e-6);
  });

  it('agrees with CleanRL to 1e-4 whenever the spread is not tiny (std >= 0.01), with padding', () => {
    const arb = fc.integer({ min: 2, max: 16 }).chain((n) =>
      fc.record({ x: flat(f32(50), n), m: flat(fc.integer({ min: 0, max: 3 }).map((k) => (k === 0 ? 0 : 1)), n) }),
    );
    fc.assert(
      fc.property(arb, ({ x, m }) => {
        const xs = real(x, m);
        fc.pre(xs.length >= 2);
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
        fc.pre(std >= 0.01);
        const ref = cleanRlNormalize(xs);
        close(coreWhiten(x, m), ref, 1e-4, 1e-2);
        // and exactly the TRL form, epsilon inside the square root
        close(coreWhiten(x, m), xs.map((v) => (v - mean) / Math.sqrt(std * std + 1e-8)), 2e-5, 1e-2);
      }),
      { numRuns: 200 },
    );
  });

  it('differs on purpose where the spread is tiny or absent (epsilon placement, one element)', () => {
    // CleanRL: (a - mean) / (std + 1e-8); ours (TRL): (a - mean) / sqrt(var + 1e-8).
    const x = [0, 1e-6];
    close(cleanRlNormalize(x), [-0.6975, 0.6975], 1e-3); // std = 7.07e-7: scaled up to ~0.7
    close(coreWhiten(x, [1, 1]), [-0.005, 0.005], 1e-3, 1e-3); // capped by sqrt(1e-8) = 1e-4
    // a single element: torch's unbiased std is NaN, so CleanRL gives NaN; ours gives 0
    expect(Number.isNaN(cleanRlNormalize([3])[0]!)).toBe(true);
    expect(coreWhiten([3, 7], [1, 0])).toEqual([0]);
    // nothing real: all zeros, no NaN
    expect(coreWhiten([3, 7], [0, 0])).toEqual([]);
  });
});
