// The trainers' option resolvers: one per trainer, same checks for the same kind of option (seeds, Adam
// settings), errors that name `<Trainer>Options.<field>`, and the defaults their TSDoc states.
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors';
import { TransformerPolicy } from '../../src/models/policy';
import { resolvePPOOptions } from '../../src/ppo/options';
import { RewardModel } from '../../src/reward/reward-model';
import { RewardTrainer } from '../../src/reward/reward-trainer';
import { resolveRewardOptions } from '../../src/reward/trainer-options';
import { SFTTrainer } from '../../src/sft/sft-trainer';
import { resolveSFTOptions } from '../../src/sft/options';
import { ByteTokenizer } from '../../src/tokenizers/byte';
import { LMTrainer } from '../../src/train/lm-trainer';
import { resolveLMOptions } from '../../src/train/options';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';

beforeAll(setupBackend);
const tok = new ByteTokenizer();

function setup() {
  const policy = TransformerPolicy.fromPreset('tiny', tok.vocabSize, { seed: 1 });
  const model = RewardModel.fromPolicy(policy);
  const resolvers: [string, (extra: Record<string, unknown>) => Record<string, unknown>][] = [
    ['LMTrainerOptions', (x) => resolveLMOptions({ policy, ...x }) as never],
    ['SFTTrainerOptions', (x) => resolveSFTOptions({ policy, tokenizer: tok, ...x }) as never],
    ['RewardTrainerOptions', (x) => resolveRewardOptions({ model, tokenizer: tok, ...x }) as never],
    ['PPOTrainerOptions', (x) => resolvePPOOptions({ policy, reward: () => [], tokenizer: tok, ...x }) as never],
  ];
  return { policy, model, resolvers, dispose: () => { model.dispose(); policy.dispose(); } };
}

function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('resolve*Options', () => {
  it('fill in the defaults their TSDoc states', () => {
    const { resolvers, dispose } = setup();
    const [lm, sft, rw, ppo] = resolvers.map(([, r]) => r({}));
    expect(lm).toMatchObject({ learningRate: 1e-3, batchSize: 8, sequenceLength: 32, warmupSteps: 20, decaySteps: 1000, minLearningRate: 1e-4, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, adamEpsilon: 1e-8, maxGradNorm: 1, seed: 0 });
    expect(sft).toMatchObject({ learningRate: 1e-3, batchSize: 8, warmupSteps: 10, minLearningRate: 1e-4, weightDecay: 0, beta1: 0.9, beta2: 0.999, adamEpsilon: 1e-8, maxGradNorm: 1, truncatePrompt: 'error', seed: 0 });
    expect(sft).not.toHaveProperty('decaySteps'); // set by the first train call
    expect(rw).toMatchObject({ learningRate: 1e-4, batchSize: 8, margin: 0, centerRewardsCoef: 0, appendEos: true, truncatePrompt: 'error', warmupSteps: 10, decaySteps: 1000, weightDecay: 0, maxGradNorm: 1, seed: 0 });
    expect(ppo).toMatchObject({ learningRate: 1e-5, batchSize: 16, miniBatchSize: 4, ppoEpochs: 4, seed: 0, whitenRewards: false, klEstimator: 'k1' });
    // miniBatchSize defaults to min(4, batchSize), as its TSDoc says.
    expect(resolvers[3]![1]({ batchSize: 2 })).toMatchObject({ batchSize: 2, miniBatchSize: 2 });
    dispose();
  });

  it('validate seeds the same way in every trainer: any safe integer, nothing else', () => {
    const { resolvers, dispose } = setup();
    for (const [name, resolve] of resolvers) {
      expect(resolve({ seed: -3 }).seed).toBe(-3);
      expect(resolve({ seed: 2 ** 40 }).seed).toBe(2 ** 40);
      for (const seed of [1.5, NaN, Infinity, '1', 2 ** 60]) {
        const e = configError(() => resolve({ seed }));
        expect(e.param).toBe(`${name}.seed`);
        expect(e.message).toMatch(/must be a safe integer/);
      }
    }
    dispose();
  });

  it('check the Adam settings under the trainer\'s own option names (LM used to pass them unchecked)', () => {
    const { resolvers, dispose } = setup();
    for (const [name, resolve] of resolvers.slice(0, 2)) {
      for (const [field, value] of [['beta1', 1], ['beta2', -0.1], ['adamEpsilon', 0], ['weightDecay', -1], ['learningRate', NaN], ['maxGradNorm', 0]] as const) {
        expect(configError(() => resolve({ [field]: value })).param).toBe(`${name}.${field}`);
      }
    }
    expect(configError(() => resolvers[2]![1]({ weightDecay: -1 })).param).toBe('RewardTrainerOptions.weightDecay');
    expect(configError(() => resolvers[2]![1]({ appendEos: 'yes' })).param).toBe('RewardTrainerOptions.appendEos');
    expect(configError(() => resolvers[3]![1]({ adamEpsilonPlacement: 'keras' })).param).toBe('PPOTrainerOptions.adamEpsilonPlacement');
    expect(configError(() => resolvers[3]![1]({ whitenRewards: 1 })).param).toBe('PPOTrainerOptions.whitenRewards');
    expect(configError(() => resolvers[3]![1]({ stopTokens: 5 })).param).toBe('PPOTrainerOptions.stopTokens');
    dispose();
  });

  it('the trainers call them: a bad option throws at construction and creates no tensor', () => {
    const { policy, model, dispose } = setup();
    expectNoLeaks(() => {
      expect(configError(() => new LMTrainer({ policy, beta1: 1 })).param).toBe('LMTrainerOptions.beta1');
      expect(configError(() => new LMTrainer({ policy, sequenceLength: 33 })).param).toBe('LMTrainerOptions.sequenceLength');
      expect(configError(() => new SFTTrainer({ policy, tokenizer: tok, decaySteps: 5, warmupSteps: 6 })).param).toBe('SFTTrainerOptions.decaySteps');
      expect(configError(() => new RewardTrainer({ model, tokenizer: tok, seed: NaN })).param).toBe('RewardTrainerOptions.seed');
      expect(configError(() => new LMTrainer(null as never)).param).toBe('LMTrainerOptions');
    });
    dispose();
  });
});
