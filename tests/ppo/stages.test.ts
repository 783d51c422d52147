// Property tests of three PPO stage helpers: the minibatch plan (stage 7), explained variance (stats) and
// scoring with a reward function (stage 3), each against its definition on random inputs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InputError, NonFiniteError } from '../../src/errors';
import { Rng } from '../../src/ops/random';
import type { RewardSample } from '../../src/ppo/options';
import type { Rollout } from '../../src/ppo/rollout';
import { scoreRollout } from '../../src/ppo/score';
import { explainedVariance, sampleEntropy } from '../../src/ppo/stats';
import { minibatchPlan } from '../../src/ppo/update';
import { ByteTokenizer } from '../../src/tokenizers/byte';

describe('minibatchPlan', () => {
  it('gives ppoEpochs independent permutations of the rows, each cut into ceil(B / m) minibatches of m (the last one smaller)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 45 }), fc.integer(), (B, epochs, m, seed) => {
      const plan = minibatchPlan(B, { ppoEpochs: epochs, miniBatchSize: m }, new Rng(seed));
      expect(plan).toHaveLength(epochs);
      const rows = Array.from({ length: B }, (_, i) => i);
      for (const epoch of plan) {
        expect(epoch).toHaveLength(Math.ceil(B / m));
        epoch.slice(0, -1).forEach((mb) => expect(mb).toHaveLength(m));
        expect(epoch.at(-1)).toHaveLength(B - m * (epoch.length - 1));
        expect([...epoch.flat()].sort((a, b) => a - b)).toEqual(rows); // every row exactly once
      }
      // Deterministic for a seed, and it draws the same amount of randomness every time.
      const r1 = new Rng(seed);
      const r2 = new Rng(seed);
      expect(minibatchPlan(B, { ppoEpochs: epochs, miniBatchSize: m }, r1)).toEqual(plan);
      minibatchPlan(B, { ppoEpochs: epochs, miniBatchSize: m }, r2);
      expect(r1.getState()).toEqual(r2.getState());
    }));
  });

  it('shuffles: with 8 rows, the epochs of one plan are not all in the same order', () => {
    const plan = minibatchPlan(8, { ppoEpochs: 4, miniBatchSize: 8 }, new Rng(3));
    expect(new Set(plan.map((e) => JSON.stringify(e))).size).toBeGreaterThan(1);
  });
});

/** Float64 reference: 1 - Var(R - V) / Var(R) over the masked entries (population variances). */
function reference(v: number[], r: number[], m: number[]): number {
  const idx = m.flatMap((x, i) => (x === 0 ? [] : [i]));
  const variance = (xs: number[]) => {
    const mu = xs.reduce((a, x) => a + x, 0) / xs.length;
    return xs.reduce((a, x) => a + (x - mu) ** 2, 0) / xs.length;
  };
  const vr = variance(idx.map((i) => r[i] as number));
  return vr === 0 ? NaN : 1 - variance(idx.map((i) => (r[i] as number) - (v[i] as number))) / vr;
}

describe('explainedVariance', () => {
  const finite = fc.double({ min: -100, max: 100, noNaN: true });
  const data = fc.integer({ min: 1, max: 30 }).chain((n) => fc.record({
    v: fc.array(finite, { minLength: n, maxLength: n }),
    r: fc.array(finite, { minLength: n, maxLength: n }),
    m: fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }),
  }));
  const f32 = (xs: number[]) => Float32Array.from(xs);

  it('equals the float64 definition over real entries, is at most 1, and ignores padded entries entirely', () => {
    fc.assert(fc.property(data, fc.array(fc.double({ noNaN: false }), { minLength: 30, maxLength: 30 }), ({ v, r, m }, junk) => {
      const got = explainedVariance(f32(v), f32(r), f32(m));
      const want = reference([...f32(v)], [...f32(r)], m);
      if (Number.isNaN(want)) expect(got).toBeNaN();
      else {
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
        expect(got).toBeLessThanOrEqual(1 + 1e-12);
      }
      // Anything (NaN included) in padded positions changes nothing.
      const v2 = v.map((x, i) => (m[i] === 0 ? (junk[i] as number) : x));
      const r2 = r.map((x, i) => (m[i] === 0 ? (junk[(i + 7) % 30] as number) : x));
      expect(explainedVariance(f32(v2), f32(r2), f32(m))).toEqual(got);
    }));
  });

  it('is 1 for a perfect critic, 0 for a constant one, NaN when the returns do not vary', () => {
    // Values on a grid of 1/8 (exact in float32), so no variance underflows to a denormal.
    const grid = fc.integer({ min: -800, max: 800 }).map((x) => x / 8);
    const gridData = fc.integer({ min: 2, max: 30 }).chain((n) => fc.record({
      r: fc.array(grid, { minLength: n, maxLength: n }),
      m: fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n }),
    }));
    fc.assert(fc.property(gridData, grid, ({ r, m }, c) => {
      const real = r.filter((_, i) => m[i] === 1);
      fc.pre(new Set(real).size > 1);
      expect(explainedVariance(f32(r), f32(r), f32(m))).toBe(1);
      const ev0 = explainedVariance(f32(r.map(() => c)), f32(r), f32(m));
      expect(Math.abs(ev0)).toBeLessThan(1e-6 * (1 + Math.abs(c)));
    }));
    expect(explainedVariance(f32([1, 2]), f32([3, 3]), f32([1, 1]))).toBeNaN();
    expect(explainedVariance(f32([1, 2]), f32([3, 4]), f32([0, 0]))).toBeNaN();
  });
});

describe('sampleEntropy', () => {
  it('is the mean over rows of -sum(log p) over each row\'s real tokens (padding ignored, NaN there included)', () => {
    const grid = fc.integer({ min: -800, max: 0 }).map((x) => x / 16);
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.infiniteStream(grid), fc.infiniteStream(fc.boolean()), (B, R, lps, ms) => {
      const lp = Array.from({ length: B * R }, () => lps.next().value as number);
      const m = Array.from({ length: B * R }, () => (ms.next().value ? 1 : 0));
      let want = 0;
      for (let b = 0; b < B; b++) for (let t = 0; t < R; t++) want -= (m[b * R + t] as number) * (lp[b * R + t] as number) / B;
      const padded = lp.map((x, i) => (m[i] === 0 ? NaN : x));
      expect(sampleEntropy(Float32Array.from(lp), Float32Array.from(m), B)).toBeCloseTo(want, 9);
      expect(sampleEntropy(Float32Array.from(padded), Float32Array.from(m), B)).toBeCloseTo(want, 9);
    }));
  });
});

describe('scoreRollout (reward function)', () => {
  const tok = new ByteTokenizer();
  /** A rollout as stage 1 would give it; only the fields scoring reads are filled in. */
  function fakeRollout(rows: { prompt: string; response: number[]; hitStop: boolean }[]): Rollout {
    return {
      prompts: rows.map((r) => r.prompt), promptIds: rows.map((r) => tok.encode(r.prompt)),
      responseIds: rows.map((r) => r.response), hitStop: rows.map((r) => r.hitStop),
    } as unknown as Rollout;
  }
  const rows = fc.array(fc.record({
    prompt: fc.string({ minLength: 1, maxLength: 6 }),
    response: fc.array(fc.integer({ min: 32, max: 126 }), { maxLength: 6 }),
    hitStop: fc.boolean(),
    score: fc.double({ min: -1e3, max: 1e3, noNaN: true }),
  }), { minLength: 1, maxLength: 8 });

  it('passes each sample (decoded, ids copied) to the function, keeps its scores as raw, and subtracts missingEosPenalty from exactly the rows without a stop token', async () => {
    await fc.assert(fc.asyncProperty(rows, fc.option(fc.double({ min: -10, max: 10, noNaN: true }), { nil: undefined }), async (rs, penalty) => {
      const ro = fakeRollout(rs);
      let seen: RewardSample[] = [];
      const reward = (samples: RewardSample[]) => {
        seen = samples;
        samples.forEach((s) => s.responseIds.push(0)); // mutating what it was given must not touch the rollout
        return Promise.resolve(rs.map((r) => r.score));
      };
      const s = await scoreRollout(reward, ro, tok, { missingEosPenalty: penalty }, 1);
      expect(seen.map((x) => x.prompt)).toEqual(rs.map((r) => r.prompt));
      expect(seen.map((x) => x.response)).toEqual(rs.map((r) => tok.decode(r.response)));
      expect(ro.responseIds).toEqual(rs.map((r) => r.response));
      expect(s.raw).toEqual(rs.map((r) => r.score));
      expect(s.final).toEqual(rs.map((r) => (penalty !== undefined && !r.hitStop ? r.score - penalty : r.score)));
    }));
  });

  it('rejects a wrong count (InputError) and a non-finite score (NonFiniteError) naming the trainer and step', async () => {
    const ro = fakeRollout([{ prompt: 'a', response: [65], hitStop: true }, { prompt: 'b', response: [66], hitStop: false }]);
    await expect(scoreRollout(() => [1], ro, tok, {}, 3)).rejects.toThrow(InputError);
    await expect(scoreRollout(() => [1, NaN], ro, tok, {}, 3)).rejects.toThrow(NonFiniteError);
    await expect(scoreRollout(() => [1, Infinity], ro, tok, {}, 3, 'GRPOTrainer')).rejects.toThrow(/GRPOTrainer step 3 \(scoring\)/);
  });
});
