import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/tf';
import { TransformerPolicy } from '../../src/models/policy';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { RewardSample } from '../../src/ppo/options';
import type { PPOStats } from '../../src/ppo/stats';
import { RewardModel } from '../../src/reward/reward-model';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { FileFormatError } from '../../src/errors';
import { setupBackend } from '../helpers/backend';

let dir: string;
beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'rlhf-ppo-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well'];
const lower = (s: RewardSample[]) => s.map((x) => x.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, x.responseIds.length));
const strip = (s: PPOStats) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('time/')));

function trainer(valueModel: 'separate' | 'shared') {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const ppo = new PPOTrainer({
    policy, reward: lower, tokenizer: tok, learningRate: 1e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2,
    maxNewTokens: 6, klCoef: 0.05, klTarget: 1, klHorizon: 100, seed: 11, valueModel,
  });
  return { policy, ppo };
}

describe('PPO checkpoints', () => {
  for (const kind of ['separate', 'shared'] as const) {
    it(`resuming from a checkpoint gives the same stats as never stopping (${kind} critic)`, async () => {
      const a = trainer(kind);
      const straight = await a.ppo.train(prompts, { steps: 4 });
      const b = trainer(kind);
      await b.ppo.train(prompts, { steps: 2 });
      await b.ppo.save(join(dir, kind));
      const c = await PPOTrainer.load(join(dir, kind), { reward: lower, tokenizer: tok });
      expect(c.progress).toEqual({ step: 2, episode: 8 });
      expect(c.kl.value).toBe(b.ppo.kl.value);
      const resumed = await c.train(prompts, { steps: 2 });
      expect(resumed.map(strip)).toEqual(straight.slice(2).map(strip));
      for (const x of [a, b]) { x.ppo.dispose(); x.policy.dispose(); }
      const n0 = tf.memory().numTensors;
      c.dispose();
      expect(tf.memory().numTensors).toBeLessThan(n0);
    });
  }

  it('a checkpoint without trainer.json (crash mid-save) is rejected', async () => {
    const a = trainer('separate');
    await a.ppo.step(prompts);
    await a.ppo.save(join(dir, 'partial'));
    await unlink(join(dir, 'partial', 'trainer.json'));
    await expect(PPOTrainer.load(join(dir, 'partial'), { reward: lower, tokenizer: tok })).rejects.toThrow(FileFormatError);
    a.ppo.dispose();
    a.policy.dispose();
  });

  it('uses a RewardModel as the reward and clones it as the critic', async () => {
    const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
    const rm = RewardModel.fromPolicy(policy);
    const ppo = new PPOTrainer({ policy, reward: rm, tokenizer: tok, batchSize: 4, miniBatchSize: 2, maxNewTokens: 5 });
    const s = await ppo.step(prompts);
    expect(Number.isFinite(s['objective/scores'])).toBe(true);
    expect(ppo.critic.kind).toBe('separate');
    if (ppo.critic.kind === 'separate') expect(ppo.critic.model).not.toBe(rm);
    ppo.dispose();
    rm.dispose();
    policy.dispose();
  });
});
