import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { tf } from '../../src/tf';
import { groupAdvantages, grpoLoss, rlooAdvantages } from '../../src/rl/index';
import { ConfigError, InputError } from '../../src/errors';
import { expectNoLeaks } from '../helpers/leaks';
import { anyMask, close, flat, t2, take, uniform } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** [B, G] rewards; some groups constant (all equal). */
const rewardsCase = fc.record({ B: fc.integer({ min: 1, max: 4 }), G: fc.integer({ min: 2, max: 6 }) }).chain(({ B, G }) =>
  fc.record({
    B: fc.constant(B), G: fc.constant(G),
    rows: fc.array(fc.oneof(
      flat(uniform(-5, 5).map(Math.fround), G),
      uniform(-5, 5).map((x) => Array(G).fill(Math.fround(x)) as number[]),
      flat(fc.constantFrom(0, 1), G),
    ), { minLength: B, maxLength: B }),
  }));

const rowSums = (x: number[], G: number) => Array.from({ length: x.length / G }, (_, b) => x.slice(b * G, (b + 1) * G).reduce((a, v) => a + v, 0));

describe('group advantages', () => {
  it('GRPO (group, batch, none) and RLOO sum to zero per group; constant groups give exactly 0, never NaN', () => {
    fc.assert(fc.property(rewardsCase, ({ B, G, rows }) => {
      const r = t2(rows.flat(), B, G);
      for (const f of [
        () => groupAdvantages(r), () => groupAdvantages(r, { scale: 'batch' }), () => groupAdvantages(r, { scale: 'none' }), () => rlooAdvantages(r),
      ]) {
        const a = expectNoLeaks(f, { kept: 1 });
        const v = take(a);
        expect(v.every(Number.isFinite)).toBe(true);
        const scale = Math.max(1, ...v.map(Math.abs));
        for (const s of rowSums(v, G)) expect(Math.abs(s)).toBeLessThan(1e-4 * scale * G);
        rows.forEach((row, b) => {
          if (row.every((x) => x === row[0])) expect(v.slice(b * G, (b + 1) * G)).toEqual(Array(G).fill(0));
        });
      }
      r.dispose();
    }), { numRuns: 80 });
  });

  it('GRPO matches (r - mean) / (Bessel std + 1e-4) per group, and Dr. GRPO is r - mean', () => {
    fc.assert(fc.property(rewardsCase, ({ B, G, rows }) => {
      const r = t2(rows.flat(), B, G);
      const want = rows.flatMap((row) => {
        const m = row.reduce((a, x) => a + x, 0) / G;
        const sd = Math.sqrt(row.reduce((a, x) => a + (x - m) ** 2, 0) / (G - 1));
        return row.map((x) => (row.every((y) => y === row[0]) ? 0 : (x - m) / (sd + 1e-4)));
      });
      close(take(groupAdvantages(r)), want, 1e-3, 1);
      const centred = rows.flatMap((row) => row.map((x) => (row.every((y) => y === row[0]) ? 0 : x - row.reduce((a, y) => a + y, 0) / G)));
      close(take(groupAdvantages(r, { scale: 'none' })), centred, 1e-4, 1);
      r.dispose();
    }), { numRuns: 60 });
  });

  it("RLOO's baseline is the mean of the other samples: changing sample i's reward moves only its own advantage's baseline term", () => {
    fc.assert(fc.property(rewardsCase, fc.nat(), uniform(-3, 3), ({ B, G, rows }, pick, delta) => {
      const i = pick % G;
      const base = take(rlooAdvantages(t2(rows.flat(), B, G)));
      const moved = rows.map((row) => row.map((x, k) => (k === i ? Math.fround(x + delta) : x)));
      const after = take(rlooAdvantages(t2(moved.flat(), B, G)));
      rows.forEach((row, b) => {
        const others = row.filter((_, k) => k !== i);
        const constant = moved[b]!.every((x) => x === moved[b]![0]);
        const want = constant ? 0 : moved[b]![i]! - others.reduce((a, x) => a + x, 0) / (G - 1);
        close([after[b * G + i]!], [want], 1e-4, 1);
        // baseline of sample i excludes r_i: A_i - r_i is the same before and after (unless a group became constant)
        const wasConstant = row.every((x) => x === row[0]);
        if (!constant && !wasConstant) close([after[b * G + i]! - moved[b]![i]!], [base[b * G + i]! - row[i]!], 1e-4, 1);
      });
    }), { numRuns: 60 });
  });

  it('rejects G < 2, wrong rank and a bad scale', () => {
    expect(() => groupAdvantages(tf.tensor2d([[1], [2]]))).toThrow(InputError);
    expect(() => rlooAdvantages(tf.tensor1d([1, 2]))).toThrow(InputError);
    expect(() => groupAdvantages(tf.tensor2d([[1, 2]]), { scale: 'std' as never })).toThrow(ConfigError);
  });
});

describe('grpoLoss', () => {
  it('at logp = old the ratio is 1, nothing clips, and with beta = 0 "grpo" gives -mean(A); gradients are finite and padding gets none', () => {
    fc.assert(fc.property(fc.record({ B: fc.integer({ min: 1, max: 4 }), T: fc.integer({ min: 1, max: 6 }) }).chain(({ B, T }) => fc.record({
      B: fc.constant(B), T: fc.constant(T), lp: flat(uniform(-6, -0.1).map(Math.fround), B * T), A: flat(uniform(-2, 2).map(Math.fround), B), m: anyMask(B, T),
    })), ({ B, T, lp, A, m }) => {
      const x = t2(lp, B, T);
      const mask = t2(m, B, T);
      const adv = tf.tensor1d(A);
      const out = grpoLoss({ logProbs: x, oldLogProbs: x, advantages: adv, mask, lossType: 'grpo' });
      const rowsWithTokens = A.filter((_, b) => m.slice(b * T, (b + 1) * T).some(Boolean));
      close(take(out.loss), [-rowsWithTokens.reduce((a, v) => a + v, 0) / B], 1e-4, 1);
      expect(take(out.clipRatio)).toEqual([0]);
      const anyTok = m.some(Boolean);
      if (anyTok) close(take(out.ratio), [1], 1e-6); else take(out.ratio);
      tf.dispose([out.kl, out.clipRatioLow, out.clipRatioHigh]);
      const g = take(tf.tidy(() => tf.grad((t: tf.Tensor) => grpoLoss({ logProbs: t, oldLogProbs: x, advantages: adv, mask, lossType: 'dapo' }).loss)(x)));
      g.forEach((v, k) => { if (!m[k]) expect(v).toBe(0); else expect(Number.isFinite(v)).toBe(true); });
      tf.dispose([x, mask, adv]);
    }), { numRuns: 50 });
  });

  it('adds beta times the k3 KL; Dr. GRPO divides by B * maxCompletionLength', () => {
    const lp = tf.tensor2d([[-1, -2], [-0.5, -3]]);
    const ref = tf.tensor2d([[-1.5, -2], [-0.5, -2]]);
    const mask = tf.tensor2d([[1, 1], [1, 0]]);
    const adv = tf.tensor1d([0, 0]);
    const k3 = (d: number) => Math.exp(d) - d - 1;
    const kls = [k3(-0.5), 0, 0];
    const out = grpoLoss({ logProbs: lp, oldLogProbs: lp, refLogProbs: ref, advantages: adv, mask, beta: 0.1, lossType: 'dapo' });
    close(take(out.kl), [kls.reduce((a, x) => a + x, 0) / 3], 1e-5);
    close(take(out.loss), [0.1 * k3(-0.5) / 3], 1e-5);
    const dr = grpoLoss({ logProbs: lp, oldLogProbs: lp, refLogProbs: ref, advantages: adv, mask, beta: 0.1, lossType: 'dr_grpo', maxCompletionLength: 4 });
    close(take(dr.loss), [0.1 * k3(-0.5) / 8], 1e-5);
    expect(() => grpoLoss({ logProbs: lp, oldLogProbs: lp, advantages: adv, mask, beta: 0.1 })).toThrow(InputError);
    expect(() => grpoLoss({ logProbs: lp, oldLogProbs: lp, advantages: adv, mask, lossType: 'ppo' as never })).toThrow(ConfigError);
  });

  it('counts clipping low (A < 0, ratio < 1 - eps) and high (A > 0, ratio > 1 + eps)', () => {
    const old = tf.tensor2d([[-1, -1], [-1, -1]]);
    const lp = tf.tensor2d([[-1 + Math.log(1.5), -1], [-1 + Math.log(0.5), -1]]);
    const out = grpoLoss({ logProbs: lp, oldLogProbs: old, advantages: tf.tensor1d([1, -1]), mask: tf.ones([2, 2]) });
    expect(take(out.clipRatioHigh)).toEqual([0.25]);
    expect(take(out.clipRatioLow)).toEqual([0.25]);
    expect(take(out.clipRatio)).toEqual([0.5]);
  });
});
