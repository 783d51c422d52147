import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TransformerPolicy } from '../../src/models/policy';
import { GRPOTrainer, RLOOTrainer } from '../../src/grpo/grpo-trainer';
import type { GRPOStats } from '../../src/grpo/stats';
import type { ColumnRewardSample } from '../../src/rewards/rewards';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { RewardModel } from '../../src/reward/reward-model';
import { ConfigError, InputError, NonFiniteError } from '../../src/errors';
import type { Logger } from '../../src/logging/logger';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);
const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well', 'ok then', 'and', 'so', 'yes'];

/** Hidden reward: fraction of completion bytes that are lowercase letters. */
const lowercase = (samples: ColumnRewardSample[]) => samples.map((s) => s.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, s.responseIds.length));

const settings = { tokenizer: tok, learningRate: 2e-3, batchSize: 4, numGenerations: 4, miniBatchSize: 8, numIterations: 2, maxNewTokens: 8, seed: 5 };

function make(Kind: typeof GRPOTrainer | typeof RLOOTrainer, over: Record<string, unknown> = {}) {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  return { policy, t: new Kind({ policy, reward: lowercase, ...settings, ...over }) };
}

const avg = (h: GRPOStats[], k: keyof GRPOStats) => h.reduce((a, s) => a + (s[k] as number), 0) / h.length;

describe('GRPOTrainer and RLOOTrainer', () => {
  for (const [name, Kind, over] of [['GRPO', GRPOTrainer, { beta: 0.04, learningRate: 1e-3 }], ['Dr. GRPO', GRPOTrainer, { scaleRewards: 'none', lossType: 'dr_grpo', beta: 0.04 }], ['RLOO', RLOOTrainer, {}]] as const) {
    it(`${name} raises a programmatic reward within 40 steps with bounded KL`, async () => {
      const { policy, t } = make(Kind, over);
      const h = await t.train(prompts, { steps: 40 });
      const early = avg(h.slice(0, 5), 'reward');
      const late = avg(h.slice(-5), 'reward');
      expect(late).toBeGreaterThan(early + 0.2);
      // per-token KL; a collapse onto one byte would be ~ln 256 = 5.5 nats
      expect(Math.max(...h.map((s) => s.kl))).toBeLessThan(3);
      expect(h.every((s) => Number.isFinite(s.loss) && s.kl >= 0)).toBe(true);
      expect(h[0]!['policy/ratio_first']).toBe(1);
      t.dispose();
      policy.dispose();
    });
  }

  it('leaks no tensors, is deterministic for a seed, and reports TRL metric names', async () => {
    const a = make(GRPOTrainer);
    await a.t.step(prompts.slice(0, 4)); // creates optimizer moments
    const ha = await expectNoLeaks(async () => [await a.t.step(prompts.slice(0, 4)), await a.t.step(prompts.slice(0, 4))]);
    const b = make(GRPOTrainer);
    const hb = [await b.t.step(prompts.slice(0, 4)), await b.t.step(prompts.slice(0, 4)), await b.t.step(prompts.slice(0, 4))];
    const strip = (s: GRPOStats) => ({ ...s, step_time: 0 });
    expect(hb.slice(1).map(strip)).toEqual(ha.map(strip));
    for (const k of ['reward', 'reward_std', 'kl', 'entropy', 'clip_ratio/region_mean', 'completions/mean_length', 'frac_reward_zero_std']) expect(ha[0]).toHaveProperty([k]);
    for (const x of [a, b]) { x.t.dispose(); x.policy.dispose(); }
  });

  it('passes extra dataset columns to the reward; constant rewards give zero-std groups and no NaN', async () => {
    const seen: unknown[] = [];
    const reward = (s: ColumnRewardSample[]) => { seen.push(...s.map((x) => x.answer)); return s.map(() => 1); };
    const { policy, t } = make(GRPOTrainer, { reward, beta: 0.1 });
    const s = await t.step([{ prompt: 'hi', answer: 42 }, { prompt: 'so', answer: 'x' }]);
    expect(seen).toEqual([42, 42, 42, 42, 'x', 'x', 'x', 'x']);
    expect(s.frac_reward_zero_std).toBe(1);
    expect(s.reward_std).toBe(0);
    expect(Number.isFinite(s.loss)).toBe(true);
    t.dispose();
    const rm = RewardModel.fromPolicy(policy);
    const withModel = new RLOOTrainer({ policy, reward: rm, ...settings, numGenerations: 2 });
    const m = await withModel.step(['hi', 'so']);
    expect(Number.isFinite(m.reward)).toBe(true);
    expect(m.reward_std).toBeGreaterThan(0);
    withModel.dispose();
    rm.dispose();
    policy.dispose();
  });

  it('save / load resumes exactly where it stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'grpo-'));
    try {
      const a = make(RLOOTrainer);
      const ha = await a.t.train(prompts, { steps: 3 });
      const b = make(RLOOTrainer);
      await b.t.train(prompts, { steps: 2 });
      await b.t.save(dir);
      b.t.dispose();
      b.policy.dispose();
      const c = await RLOOTrainer.load(dir, { reward: lowercase, tokenizer: tok });
      expect(c.progress.step).toBe(2);
      const hc = await c.train(prompts, { steps: 1 });
      expect({ ...hc[0]!, step_time: 0 }).toEqual({ ...ha[2]!, step_time: 0 });
      await expect(GRPOTrainer.load(dir, { reward: lowercase, tokenizer: tok })).rejects.toThrow(/rloo/);
      a.t.dispose(); a.policy.dispose(); c.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('logs stats and samples; rejects bad options, prompts and rewards with typed errors', async () => {
    const records: string[] = [];
    const logger: Logger = { log: (_l, m) => { records.push(m); } };
    const { policy, t } = make(GRPOTrainer, { logger, sampleEvery: 1 });
    await t.step(['hi']);
    expect(records).toContain('grpo step');
    expect(records.some((m) => m !== 'grpo step')).toBe(true);
    t.dispose();
    const bad = [{ numGenerations: 1 }, { beta: -1 }, { lossType: 'ppo' }, { scaleRewards: 'std' }, { workers: 3.5 }, { epsilon: 0 }, { reward: undefined }];
    for (const b of bad) expect(() => new GRPOTrainer({ policy, reward: lowercase, tokenizer: tok, ...b } as never)).toThrow(ConfigError);
    expect(() => new RLOOTrainer({ policy, reward: lowercase, tokenizer: tok, numGenerations: 1 })).toThrow(/numGenerations/);
    const nan = new GRPOTrainer({ policy, reward: (s) => s.map(() => NaN), tokenizer: tok, numGenerations: 2, maxNewTokens: 2 });
    await expect(nan.step(['hi'])).rejects.toThrow(NonFiniteError);
    await expect(nan.step([])).rejects.toThrow(InputError);
    await expect(nan.step([{ prompt: 3 } as never])).rejects.toThrow(InputError);
    nan.dispose();
    policy.dispose();
  });
});
