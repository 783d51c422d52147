import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { RewardSample } from '../../src/ppo/options';
import type { PPOStats } from '../../src/ppo/stats';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { InputError, NonFiniteError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);
const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well', 'ok then', 'and', 'so', 'yes'];

/** Reward: fraction of response bytes that are lowercase letters (a programmatic preference). */
const countA = (samples: RewardSample[]) => samples.map((s) => s.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, s.responseIds.length));

function makeTrainer(overrides: Record<string, unknown> = {}) {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const ppo = new PPOTrainer({
    policy, reward: countA, tokenizer: tok, learningRate: 1e-3, batchSize: 8, miniBatchSize: 4, ppoEpochs: 4,
    maxNewTokens: 8, klCoef: 0.02, seed: 5, ...overrides,
  });
  return { policy, ppo };
}

describe('PPOTrainer', () => {
  it('first minibatch of the first epoch has ratio exactly 1 and approx KL exactly 0', async () => {
    const { policy, ppo } = makeTrainer();
    for (let i = 0; i < 3; i++) {
      const s = await ppo.step(prompts);
      expect(s['policy/approxkl_first']).toBe(0);
    }
    ppo.dispose();
    policy.dispose();
  });

  it('raises the reward while the KL stays bounded; a large klCoef stays near the reference', async () => {
    const run = async (klCoef: number) => {
      const { policy, ppo } = makeTrainer({ klCoef });
      const h = await ppo.train(prompts, { steps: 30 });
      ppo.dispose();
      policy.dispose();
      return h;
    };
    const h = await run(0.02);
    const early = h.slice(0, 5).reduce((a, s) => a + s['objective/scores'], 0) / 5;
    const late = h.slice(-5).reduce((a, s) => a + s['objective/scores'], 0) / 5;
    expect(late).toBeGreaterThan(early + 0.15);
    expect(Math.max(...h.map((s) => s['objective/kl']))).toBeLessThan(30);
    const tight = await run(2);
    const lateKlTight = tight.slice(-5).reduce((a, s) => a + s['objective/kl'], 0) / 5;
    const lateKl = h.slice(-5).reduce((a, s) => a + s['objective/kl'], 0) / 5;
    expect(lateKlTight).toBeLessThan(lateKl / 2);
  });

  it('leaves no tensors behind across steps and is deterministic for a seed', async () => {
    const a = makeTrainer();
    await a.ppo.step(prompts); // creates optimizer moments
    const ha = await expectNoLeaks(async () => [await a.ppo.step(prompts), await a.ppo.step(prompts)]);
    const b = makeTrainer();
    const hb = [await b.ppo.step(prompts), await b.ppo.step(prompts), await b.ppo.step(prompts)];
    const strip = (s: PPOStats) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('time/')));
    expect(hb.slice(1).map(strip)).toEqual(ha.map(strip));
    for (const t of [a, b]) { t.ppo.dispose(); t.policy.dispose(); }
  });

  it('rejects a reward of the wrong length and a NaN reward before any weight changes', async () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
    const before = await policy.trainableVariables[2]!.data();
    const wrong = new PPOTrainer({ policy, reward: () => [1], tokenizer: tok, maxNewTokens: 4 });
    await expect(wrong.step(['a', 'b'])).rejects.toThrow(InputError);
    const nan = new PPOTrainer({ policy, reward: (s) => s.map(() => NaN), tokenizer: tok, maxNewTokens: 4 });
    await expect(nan.step(['a', 'b'])).rejects.toThrow(NonFiniteError);
    expect(await policy.trainableVariables[2]!.data()).toEqual(before);
    wrong.dispose();
    nan.dispose();
    policy.dispose();
  });
});

describe('PPOTrainer options', () => {
  it('warns through the logger on ratio blow-ups, and PPO-ptx adds a pretraining loss', async () => {
    const warnings: string[] = [];
    const logger = { log: (level: string, msg: string) => { if (level === 'warn') warnings.push(msg); } };
    const ptxData = tok.encode('the cat sat on the mat. '.repeat(20));
    const { policy, ppo } = makeTrainer({ logger, ratioWarningThreshold: 1.000001, ptxCoef: 0.5, ptxData });
    const s = await ppo.step(prompts);
    expect(warnings.some((w) => w.includes('ratio'))).toBe(true);
    expect(s['loss/ptx_avg']).toBeGreaterThan(1);
    ppo.dispose();
    policy.dispose();
  });

  it('adaptive KL moves beta by the Ziegler rule after each step', async () => {
    const { policy, ppo } = makeTrainer({ klCoef: 0.1, klTarget: 0.5, klHorizon: 100 });
    const s = await ppo.step(prompts);
    const e = Math.max(-0.2, Math.min(0.2, s['objective/kl'] / 0.5 - 1));
    expect(ppo.kl.value).toBeCloseTo(0.1 * (1 + (e * 8) / 100), 12);
    ppo.dispose();
    policy.dispose();
  });

  it('rejects bad options and bad prompts with typed errors', () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize);
    const base = { policy, reward: countA, tokenizer: tok };
    expect(() => new PPOTrainer({ ...base, clipRange: 0 })).toThrow(/clipRange = 0/);
    expect(() => new PPOTrainer({ ...base, klEstimator: 'k4' as never })).toThrow(/klEstimator/);
    expect(() => new PPOTrainer({ ...base, ptxCoef: 1 })).toThrow(/ptxData/);
    expect(() => new PPOTrainer({ ...base, stopTokens: [999] })).toThrow(/stopTokens\[0\] = 999/);
    const ppo = new PPOTrainer({ ...base, maxNewTokens: 30 });
    return Promise.all([
      expect(ppo.step([])).rejects.toThrow(InputError),
      expect(ppo.step(['a very long prompt indeed'])).rejects.toThrow(/exceeds contextLength = 32/),
    ]).finally(() => { ppo.dispose(); policy.dispose(); });
  });
});

describe('PPOTrainer sample tables', () => {
  it('logs (prompt, response, score, KL) rows every sampleEvery steps', async () => {
    const records: { message: string; data?: Record<string, unknown> }[] = [];
    const logger = { log: (_l: string, message: string, data?: Record<string, unknown>) => { records.push({ message, ...(data ? { data } : {}) }); } };
    const { policy, ppo } = makeTrainer({ logger, sampleEvery: 2, sampleRows: 3 });
    await ppo.train(prompts, { steps: 4 });
    const tables = records.filter((r) => r.message === 'samples');
    expect(tables.map((t) => t.data?.step)).toEqual([2, 4]);
    const rows = tables[0]!.data!.rows as { prompt: string; response: string; score: number; kl: number }[];
    expect(rows).toHaveLength(3);
    expect(rows[0]!.prompt).toBe(prompts[0]);
    expect(typeof rows[0]!.response).toBe('string');
    expect(Number.isFinite(rows[0]!.score) && Number.isFinite(rows[0]!.kl)).toBe(true);
    ppo.dispose();
    policy.dispose();
  });
});
