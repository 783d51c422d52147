import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtemp, rm as rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { RewardModel } from '../../src/reward/reward-model';
import { groupComparisons, pairwiseLoss } from '../../src/reward/pairwise';
import { TransformerPolicy } from '../../src/models/policy';
import { InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-rm-'));
});
afterAll(() => rmdir(dir, { recursive: true, force: true }));

const small = { vocabSize: 30, contextLength: 24, nLayer: 2, nHead: 2, dModel: 16, seed: 4 };
const rowArb = (min: number) => fc.array(fc.integer({ min: 0, max: 29 }), { minLength: min, maxLength: 7 });

describe('pairwise loss and ranking expansion', () => {
  it('pairwiseLoss equals -log sigmoid(r_w - r_l - margin) (property)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.double({ min: -20, max: 20, noNaN: true }), fc.double({ min: -20, max: 20, noNaN: true })), { minLength: 1, maxLength: 8 }),
      fc.double({ min: -2, max: 2, noNaN: true }), (pairs, margin) => {
        const got = tf.tidy(() => pairwiseLoss(tf.tensor1d(pairs.map((p) => p[0])), tf.tensor1d(pairs.map((p) => p[1])), margin).arraySync());
        pairs.forEach(([w, l], i) => {
          const x = w - l - margin;
          const want = -Math.log(1 / (1 + Math.exp(-x)));
          expect(Math.abs((got[i] as number) - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
        });
      }), { numRuns: 100 });
  });

  it('a K-way ranking yields exactly its C(K,2) pairs minus ties, each correctly ordered (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 9 }).chain((k) => fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: k, maxLength: k })), (ranking) => {
      const k = ranking.length;
      fc.pre(new Set(ranking).size > 1);
      const responses = ranking.map((_, i) => `r${i}`);
      const [g] = groupComparisons([{ prompt: 'p', responses, ranking }]);
      let expected = 0;
      for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) if (ranking[a] !== ranking[b]) expected++;
      if (new Set(ranking).size === k) expect(expected).toBe((k * (k - 1)) / 2);
      expect(g!.pairs.length).toBe(expected);
      const seen = new Set<string>();
      for (const [w, l] of g!.pairs) {
        expect(ranking[w]!).toBeLessThan(ranking[l]!);
        seen.add(`${w},${l}`);
      }
      expect(seen.size).toBe(expected);
    }), { numRuns: 200 });
  });
});

describe('RewardModel', () => {
  it('scores are invariant to padding and batch composition (property)', async () => {
    const rm = new RewardModel(small);
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(rowArb(1), rowArb(0)), { minLength: 1, maxLength: 4 }), async (rows) => {
      const batch = await rm.score(rows.map((r) => r[0]), rows.map((r) => r[1]));
      for (let i = 0; i < rows.length; i++) {
        const [alone] = await rm.score([rows[i]![0]], [rows[i]![1]]);
        expect(Math.abs(alone! - batch[i]!)).toBeLessThan(1e-4);
      }
    }), { numRuns: 15 });
    rm.dispose();
  });

  it('fromPolicy copies the trunk (same hidden states) with a fresh N(0, 1/sqrt(d+1)) head', async () => {
    const policy = new TransformerPolicy({ vocabSize: 30, contextLength: 24, nLayer: 1, nHead: 2, dModel: 64, seed: 8 });
    const rm = RewardModel.fromPolicy(policy);
    for (const [name, v] of rm.trunk.params) expect(await v.data()).toEqual(await policy.model.params.get(name)!.data());
    const w = Array.from(await rm.headWeight.data());
    const std = Math.sqrt(w.reduce((a, x) => a + x * x, 0) / w.length);
    expect(std).toBeGreaterThan(0.5 / Math.sqrt(65));
    expect(std).toBeLessThan(1.5 / Math.sqrt(65));
    // Training the reward model must not change the policy it came from.
    rm.trunk.params.get('wte.weight')!.assign(tf.zerosLike(rm.trunk.params.get('wte.weight')!));
    expect(Math.abs((await policy.model.params.get('wte.weight')!.data())[0]!)).toBeGreaterThan(0);
    policy.dispose();
    rm.dispose();
  });

  it('normalize gives mean 0 / std 1 on the samples; save/load keeps weights and normalisation', async () => {
    const rm = new RewardModel(small);
    const prompts = Array.from({ length: 12 }, (_, i) => [i % 30, (i * 7) % 30]);
    const responses = Array.from({ length: 12 }, (_, i) => [(i * 3) % 30, (i * 11) % 30, 5]);
    const n = await rm.normalize(prompts, responses);
    const s = await rm.score(prompts, responses);
    const mean = s.reduce((a, x) => a + x, 0) / s.length;
    const std = Math.sqrt(s.reduce((a, x) => a + (x - mean) ** 2, 0) / s.length);
    expect(Math.abs(mean)).toBeLessThan(1e-4);
    expect(Math.abs(std - 1)).toBeLessThan(1e-4);
    await rm.save(join(dir, 'rm'));
    const back = await RewardModel.load(join(dir, 'rm'));
    expect(back.normalization).toEqual(n);
    expect(await back.score(prompts, responses)).toEqual(s);
    const fromBytes = RewardModel.fromSafetensors(rm.toSafetensors());
    expect(await fromBytes.score(prompts, responses)).toEqual(s);
    rm.dispose();
    back.dispose();
    fromBytes.dispose();
  });

  it('rejects bad input with typed errors and leaves no tensors behind', async () => {
    const rm = new RewardModel(small);
    await expectNoLeaks(() => rm.score([[1, 2]], [[3]]));
    await expect(rm.score([[1, 99]], [[3]])).rejects.toThrow(/promptIds\[0\]\[1\] = 99/);
    await expect(rm.score([[1]], [[3], [4]])).rejects.toThrow(InputError);
    await expect(rm.score([Array.from({ length: 20 }, () => 1)], [Array.from({ length: 5 }, () => 1)])).rejects.toThrow(/exceeds contextLength = 24/);
    rm.dispose();
  });
});
