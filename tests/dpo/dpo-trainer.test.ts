import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { DPOTrainer } from '../../src/dpo/dpo-trainer';
import type { PreferenceRecord } from '../../src/dpo/data';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { ConfigError, InputError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { mulberry32 } from '../rl/helpers';
import { AdamW } from '../../src/optim/adamw';
import { optimizerStep } from '../../src/train/step';
import { sequenceLogps } from '../../src/dpo/forward';

beforeAll(setupBackend);
const tok = new ByteTokenizer();

function word(r: () => number, alphabet: string, min: number, max: number): string {
  const n = min + Math.floor(r() * (max - min + 1));
  return Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join('');
}

/** Hidden preference: lowercase letters are preferred to digits. */
function pairs(seed: number, n: number): PreferenceRecord[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => ({ prompt: `${word(r, 'pqrs', 2, 3)}:`, chosen: word(r, 'abcdefgh', 3, 5), rejected: word(r, '0123456789', 3, 5) }));
}

/** Letters among the letters and digits of sampled responses: the preferred property. */
const letterFraction = async (policy: TransformerPolicy, seed: number) => {
  const prompts = Array.from({ length: 4 }, () => ['pq:', 'rs:', 'sp:', 'qr:', 'ps:', 'rq:']).flat().map((p) => tok.encode(p));
  const { tokens } = await policy.generate(prompts, { maxNewTokens: 6, temperature: 1, seed, stopTokens: [tok.eosId] });
  const all = tokens.flat();
  const letters = all.filter((t) => t >= 97 && t <= 122).length;
  const digits = all.filter((t) => t >= 48 && t <= 57).length;
  return letters / Math.max(1, letters + digits);
};

/** A few steps of maximum likelihood on both responses: the SFT policy DPO starts from (letters and digits alike). */
async function sft(policy: TransformerPolicy, data: PreferenceRecord[]) {
  const opt = new AdamW(policy.trainableVariables, { learningRate: 3e-3 });
  const rows = (data as { prompt: string; chosen: string; rejected: string }[]).flatMap((d) => [[d.prompt, d.chosen], [d.prompt, d.rejected]]);
  for (let i = 0; i < 60; i++) {
    const b = rows.slice((i * 16) % rows.length, ((i * 16) % rows.length) + 16);
    await optimizerStep(opt, () => ({ loss: tf.neg(tf.mean(sequenceLogps(policy, b.map((r) => tok.encode(r[0]!)), b.map((r) => [...tok.encode(r[1]!), tok.eosId]), 0))) as tf.Scalar }), { maxGradNorm: 1, learningRate: 3e-3, where: 'sft' });
  }
  opt.dispose();
}

const make = (over: Record<string, unknown> = {}) => {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
  return { policy, dpo: new DPOTrainer({ policy, tokenizer: tok, learningRate: 2e-3, batchSize: 8, beta: 0.1, seed: 1, ...over }) };
};

describe('DPOTrainer', () => {
  it('at step 0 the loss is ln 2, every reward 0 and accuracy 0; a step leaks no tensors', async () => {
    const { policy, dpo } = make();
    const first: unknown[] = [];
    await dpo.train(pairs(1, 8), { onStep: (s) => { first.push(s); } });
    const s = first[0] as Record<string, number>;
    expect(s.loss).toBeCloseTo(Math.LN2, 6);
    for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins']) expect(Math.abs(s[k] as number)).toBeLessThan(1e-6);
    expect(s['rewards/accuracies']).toBe(0);
    expect(s['logps/chosen']).toBeLessThan(0);
    await expectNoLeaks(() => dpo.train(pairs(2, 8)));
    await expectNoLeaks(() => dpo.evaluate(pairs(3, 4)));
    dpo.dispose();
    policy.dispose();
  });

  it('learns a hidden preference: held-out accuracy >= 0.9 and samples move toward the preferred property', async () => {
    const { policy, dpo } = make();
    await sft(policy, pairs(10, 64));
    dpo.dispose();
    const trained = new DPOTrainer({ policy, tokenizer: tok, learningRate: 2e-3, batchSize: 8, beta: 0.1, seed: 1 });
    const before = await letterFraction(policy, 7);
    const h = await trained.train(pairs(10, 64), { epochs: 3 });
    const held = await trained.evaluate(pairs(99, 40));
    const after = await letterFraction(policy, 7);
    trained.dispose();
    expect(held['rewards/accuracies']).toBeGreaterThanOrEqual(0.9);
    expect(held['rewards/margins']).toBeGreaterThan(0);
    expect(h[h.length - 1]!.loss).toBeLessThan(h[0]!.loss);
    expect(before).toBeGreaterThan(0.2);
    expect(before).toBeLessThan(0.8);
    expect(after).toBeGreaterThan(before + 0.2);
    policy.dispose();
  });

  it('K-way rankings with ties: pairs and Plackett-Luce agree on K = 2, ties give no pair; chat pairs are accepted', async () => {
    const ranked: PreferenceRecord[] = [
      { prompt: 'pq:', responses: ['abc', '123', 'de'], ranking: [0, 1, 0] },
      { prompt: 'rs:', responses: ['x1', 'ab'], ranking: [1, 0] },
    ];
    const lossOf = async (rankings: 'pairs' | 'plackett-luce', data: PreferenceRecord[]) => {
      const { policy, dpo } = make({ rankings });
      const h = await dpo.train(data);
      dpo.dispose();
      policy.dispose();
      return h[0]!;
    };
    const two: PreferenceRecord[] = [{ prompt: 'rs:', chosen: 'ab', rejected: 'x1' }];
    expect((await lossOf('plackett-luce', two)).loss).toBeCloseTo((await lossOf('pairs', two)).loss, 6);
    const p = await lossOf('pairs', ranked);
    expect(p.num_pairs).toBe(3); // abc>123, de>123, ab>x1 (abc = de is a tie)
    expect((await lossOf('plackett-luce', ranked)).num_pairs).toBe(3);
    const chat: PreferenceRecord[] = [
      { prompt: [{ role: 'user', content: 'hi' }], chosen: [{ role: 'assistant', content: 'abc' }], rejected: [{ role: 'assistant', content: '123' }] },
      { chosen: [{ role: 'user', content: 'yo' }, { role: 'assistant', content: 'ab' }], rejected: [{ role: 'user', content: 'yo' }, { role: 'assistant', content: '12' }] },
    ];
    expect((await lossOf('pairs', chat)).num_pairs).toBe(2);
  });

  it('save / load resumes exactly; precomputed reference log-probs match the reference model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dpo-'));
    try {
      const a = make();
      await a.dpo.train(pairs(5, 16), { epochs: 2 });
      const b = make();
      await b.dpo.train(pairs(5, 16));
      await b.dpo.save(dir);
      b.dpo.dispose();
      b.policy.dispose();
      const c = await DPOTrainer.load(dir, { tokenizer: tok });
      expect(c.progress).toEqual({ step: 2, epoch: 1 });
      await c.train(pairs(5, 16));
      const wa = await a.policy.trainableVariables[0]!.data();
      const wc = await c.policy.trainableVariables[0]!.data();
      expect(Array.from(wc)).toEqual(Array.from(wa));
      a.dpo.dispose(); a.policy.dispose(); c.dispose();

      const pre = make({ precomputeRefLogProbs: true });
      expect(pre.dpo.ref).toBeUndefined();
      const ha = await pre.dpo.train(pairs(6, 8));
      const withRef = make();
      const hb = await withRef.dpo.train(pairs(6, 8));
      expect(ha[0]!.loss).toBeCloseTo(hb[0]!.loss, 6);
      await expect(pre.dpo.evaluate(pairs(7, 4))).rejects.toThrow(InputError);
      await pre.dpo.save(dir);
      const back = await DPOTrainer.load(dir, { tokenizer: tok });
      expect(back.ref).toBeUndefined();
      const ea = await pre.dpo.evaluate(pairs(6, 8));
      expect((await back.evaluate(pairs(6, 8))).loss).toBeCloseTo(ea.loss, 6);
      for (const t of [pre, withRef]) { t.dpo.dispose(); t.policy.dispose(); }
      back.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects bad options and bad records with typed errors', () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 3 });
    const bad = [{ beta: 0 }, { lossType: 'kto' }, { labelSmoothing: 0.5 }, { lossType: 'ipo', labelSmoothing: 0.1 },
      { rankings: 'plackett-luce', lossType: 'hinge' }, { workers: 2.5 }, { workers: 0 }, { batchSize: 0 }];
    for (const b of bad) expect(() => new DPOTrainer({ policy, tokenizer: tok, ...b } as never)).toThrow(ConfigError);
    const ok = new DPOTrainer({ policy, tokenizer: tok, workers: 1 });
    expect(() => new DPOTrainer({ policy, tokenizer: tok, workers: 'auto' })).not.toThrow();
    return Promise.all([
      expect(ok.train([])).rejects.toThrow(InputError),
      expect(ok.train([{ prompt: 'a', chosen: 'x', rejected: 'x' }])).rejects.toThrow(/two different ranks/),
      expect(ok.train([{ prompt: 'a', responses: ['x', 'y'], ranking: [0] }])).rejects.toThrow(InputError),
      expect(ok.train([{ prompt: 'a'.repeat(40), chosen: 'x', rejected: 'y' }])).rejects.toThrow(/contextLength/),
      expect(ok.train([{ prompt: 'a', responses: ['x', 'y'], ranking: [1, 1] }])).rejects.toThrow(/no comparison/),
    ]).finally(() => { ok.dispose(); policy.dispose(); });
  });
});
