// Multi-turn GRPO/RLOO (`dialogue`): each of a conversation's G completions is a whole multi-turn
// continuation (user turns from the simulator), the reward sees the conversation, and the update trains
// assistant tokens only: moving the old and reference log-probs at user-turn tokens leaves the loss, KL
// and weights bit-identical, while the same change at assistant tokens moves them.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GRPOTrainer, RLOOTrainer } from '../../src/grpo/grpo-trainer';
import { resolveGroupOptions } from '../../src/grpo/options';
import { groupUpdate } from '../../src/grpo/update';
import { dialogueRollout } from '../../src/ppo/dialogue-rollout';
import { minibatchPlan } from '../../src/ppo/update';
import { referenceLogProbs } from '../../src/ppo/evaluate-rollout';
import { AdamW } from '../../src/optim/adamw';
import { Rng } from '../../src/ops/random';
import { ConfigError } from '../../src/errors';
import type { RewardSample } from '../../src/ppo/options';
import type { TransformerPolicy } from '../../src/models/policy';
import { setupBackend } from '../helpers/backend';
import { expectNoLeaks } from '../helpers/leaks';
import { chattyPolicy, recordingSimulator, sampling, tok } from './helpers';

beforeAll(setupBackend);
const disposers: (() => void)[] = [];
afterEach(() => disposers.splice(0).forEach((d) => d()));

function policy(seed = 3): TransformerPolicy {
  const p = chattyPolicy(seed);
  disposers.push(() => p.dispose());
  return p;
}

describe('GRPO and RLOO with dialogue', () => {
  it('samples whole conversations per prompt, scores them with their messages, and trains', async () => {
    const seen: RewardSample[][] = [];
    const reward = async (s: RewardSample[]) => { seen.push(s); return s.map((x) => (x.messages ?? []).filter((m) => m.role === 'assistant').length); };
    const { sim, calls } = recordingSimulator();
    for (const Kind of [GRPOTrainer, RLOOTrainer]) {
      const t = new Kind({
        policy: policy(), reward, tokenizer: tok, numGenerations: 2, batchSize: 2, maxNewTokens: 6, learningRate: 1e-3, seed: 2,
        dialogue: { userSimulator: sim, maxTurns: 3 },
      });
      disposers.push(() => t.dispose());
      const h = await t.train(['hi', [{ role: 'user', content: 'say' }]], { steps: 2 });
      expect(h.every((s) => Number.isFinite(s.loss) && Number.isFinite(s.kl))).toBe(true);
    }
    expect(calls.length).toBeGreaterThan(0); //                             conversations went past one turn
    const last = seen.at(-1) as RewardSample[];
    expect(last).toHaveLength(4); //                                         2 conversations x G = 2
    expect(last.some((x) => (x.messages ?? []).filter((m) => m.role === 'assistant').length > 1)).toBe(true);
    expect(() => new GRPOTrainer({ policy: policy(), reward, tokenizer: tok, dialogue: { rewardPer: 'turn' } })).toThrow(ConfigError);
  });

  it('the update ignores user-turn tokens (bit-identical) and not assistant tokens', async () => {
    const p0 = policy();
    const o = resolveGroupOptions({ policy: p0, reward: () => [], tokenizer: tok, numGenerations: 2, batchSize: 2, beta: 0.1, lossType: 'grpo', maxNewTokens: 6 },
      { name: 'GRPOTrainerOptions', numGenerations: 2, beta: 0, lossType: 'dapo' });
    const { sim } = recordingSimulator();
    const ro = await dialogueRollout(p0, ['hi', 'hi', 'go on', 'go on'], tok, sampling, { maxTurns: 3, rewardPer: 'conversation', userSimulator: sim }, new Rng(3));
    const R = ro.responseLength;
    const user: number[] = [];
    const assistant: number[] = [];
    ro.responseIds.forEach((r, b) => r.forEach((_, j) => (ro.responseMask[b * R + j] === 0 ? user : assistant).push(b * R + j)));
    expect(user.length).toBeGreaterThan(0);
    const plan = minibatchPlan(ro.batch.batch, { ppoEpochs: 2, miniBatchSize: 2 }, new Rng(2));
    const oldLogProbs = await referenceLogProbs(p0, ro, plan[0] as number[][], 1);
    const refLogProbs = oldLogProbs.map((x, i) => x - 0.05 * ((i % 7) - 3));
    const advantages = Float32Array.from([1, -1, 0.5, -0.5]);
    const moved = (x: Float32Array, at: number[]) => { const y = x.slice(); for (const i of at) y[i] = (y[i] as number) + (i % 2 ? -3 : 2); return y; };
    const run = async (at: number[]) => {
      const p = p0.clone();
      const opt = new AdamW(p.trainableVariables, { learningRate: 1e-2, weightDecay: 0 });
      const stats = await groupUpdate({ policy: p, opt, ro, targets: { oldLogProbs: moved(oldLogProbs, at), refLogProbs: moved(refLogProbs, at), advantages }, plan, o, where: 'test' });
      const weights = p.trainableVariables.map((v) => Array.from(v.dataSync()));
      opt.dispose();
      p.dispose();
      return { stats, weights };
    };
    const base = await expectNoLeaks(() => run([]));
    const userMoved = await run(user);
    expect(userMoved.stats).toEqual(base.stats);
    expect(userMoved.weights).toEqual(base.weights);
    const assistantMoved = await run(assistant.slice(0, 3));
    expect(assistantMoved.stats.kl).not.toBe(base.stats.kl);
    expect(assistantMoved.weights).not.toEqual(base.weights);
  });
});
