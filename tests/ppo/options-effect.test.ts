// missingEosPenalty, whitenRewards and klEstimator exercised through PPOTrainer (a few tiny steps each),
// asserting what each one changes in the step's stats, against an otherwise identical run without it.
import { beforeAll, describe, expect, it } from 'vitest';
import { TransformerPolicy } from '../../src/models/policy';
import type { PPOTrainerOptions, RewardSample } from '../../src/ppo/options';
import { PPOTrainer } from '../../src/ppo/ppo-trainer';
import type { PPOStats } from '../../src/ppo/stats';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);
const tok = new ByteTokenizer();
const prompts = ['hi', 'say', 'go on', 'well'];
const lowercase = (samples: RewardSample[]) => samples.map((s) => s.responseIds.filter((t) => t >= 97 && t <= 122).length / Math.max(1, s.responseIds.length));

/** `steps` PPO steps of a fresh tiny policy (same seeds every call) with `overrides`; disposes everything. */
async function run(steps: number, overrides: Partial<PPOTrainerOptions> = {}): Promise<PPOStats[]> {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 2 });
  const ppo = new PPOTrainer({
    policy, reward: lowercase, tokenizer: tok, learningRate: 1e-3, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2,
    maxNewTokens: 6, klCoef: 0.1, seed: 5, sampleEvery: 0, ...overrides,
  });
  const stats: PPOStats[] = [];
  for (let i = 0; i < steps; i++) stats.push(await ppo.step(prompts));
  ppo.dispose();
  policy.dispose();
  return stats;
}

describe('PPOTrainer options, through the trainer', () => {
  it('missingEosPenalty lowers the score of exactly the responses that hit no stop token', async () => {
    const [plain] = await expectNoLeaks(() => run(1));
    const [penalised] = await run(1, { missingEosPenalty: 2 });
    const noEos = 4 - plain!['val/num_eos_tokens'];
    expect(noEos).toBeGreaterThan(0); // a fresh policy rarely emits EOS within 6 tokens
    expect(penalised!['val/num_eos_tokens']).toBe(plain!['val/num_eos_tokens']); // same rollout
    expect(penalised!['objective/scores']).toBeCloseTo(plain!['objective/scores'] - (2 * noEos) / 4, 6);
    expect(penalised!['objective/rlhf_reward']).toBeCloseTo(plain!['objective/rlhf_reward'] - (2 * noEos) / 4, 6);
    // The penalty reaches the update: the value targets change, so does the value loss.
    expect(penalised!['loss/value_avg']).not.toBeCloseTo(plain!['loss/value_avg'], 6);
  });

  it('whitenRewards rescales the per-token rewards before GAE: smaller value targets for a large score spike', async () => {
    const big = (samples: RewardSample[]) => samples.map((s, i) => 10 + i); // large, nearly constant scores
    const [raw] = await run(1, { reward: big, klCoef: 0 });
    const [white] = await expectNoLeaks(() => run(1, { reward: big, klCoef: 0, whitenRewards: true }));
    // Same rollout and scores: whitening acts after scoring, on the rewards only.
    expect(white!['objective/scores']).toBe(raw!['objective/scores']);
    // The critic starts at 0, so the value loss measures the size of the returns. Unwhitened, each row's
    // reward is one spike of 10+ at its last token (returns ~10, loss ~50). Whitened without shifting the
    // mean, r -> (r - mean) / std + mean with std ~3.7 > 1: the spike shrinks toward the mean, the other
    // tokens rise a little, and the returns of the early tokens fall (measured: value loss 52 -> 27).
    expect(raw!['loss/value_avg']).toBeGreaterThan(10);
    expect(white!['loss/value_avg']).toBeLessThan(raw!['loss/value_avg'] / 1.5);
  });

  it('klEstimator k1/k2/k3: the same first step (KL exactly 0), then each estimator of the same log-ratios in the reward', async () => {
    const byEstimator = await Promise.all((['k1', 'k2', 'k3'] as const).map((k) => run(3, { klEstimator: k, learningRate: 1e-2 })));
    const [k1, k2, k3] = byEstimator as [PPOStats[], PPOStats[], PPOStats[]];
    for (const s of [k1, k2, k3]) {
      expect(s[0]!['objective/kl']).toBe(0); // policy == reference at step 1
      // The penalty that enters the reward is -beta times the chosen estimate.
      for (const x of s) expect(x['objective/non_score_reward']).toBeCloseTo(-0.1 * x['objective/kl'], 5);
    }
    // Step 1 is identical for all three, so step 2 samples the same responses with the same log-ratios.
    expect(k2[0]!['loss/policy_avg']).toBe(k1[0]!['loss/policy_avg']);
    expect(k3[0]!['loss/policy_avg']).toBe(k1[0]!['loss/policy_avg']);
    expect(k2[1]!['val/response_length']).toBe(k1[1]!['val/response_length']);
    const kl = [k1[1]!['objective/kl'], k2[1]!['objective/kl'], k3[1]!['objective/kl']];
    expect(Math.abs(kl[0]!)).toBeGreaterThan(1e-4); // the policy has moved
    expect(kl[1]).toBeGreaterThan(0); // k2 = logr^2 / 2 and k3 = e^logr - 1 - logr are never negative
    expect(kl[2]).toBeGreaterThan(0);
    expect(new Set(kl).size).toBe(3); // three different estimates of the same log-ratios...
    // ...that enter the rewards, so the updates of step 2 differ too.
    expect(k2[1]!['loss/policy_avg']).not.toBe(k1[1]!['loss/policy_avg']);
    expect(k3[1]!['loss/policy_avg']).not.toBe(k1[1]!['loss/policy_avg']);
  });
});
