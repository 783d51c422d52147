import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { dialogueRollout } from '../../src/ppo/dialogue-rollout';
import { computeAdvantages } from '../../src/ppo/advantages';
import { evaluateRollout, referenceLogProbs } from '../../src/ppo/evaluate-rollout';
import { zeroValueHead, type Critic } from '../../src/ppo/forward';
import { resolvePPOOptions } from '../../src/ppo/options';
import { minibatchPlan, ppoUpdate, type UpdateTargets } from '../../src/ppo/update';
import { resolveDialogueOptions } from '../../src/dialogue/options';
import { AdamW } from '../../src/optim/adamw';
import { Rng } from '../../src/ops/random';
import type { TransformerPolicy } from '../../src/models/policy';
import { setupBackend } from '../helpers/backend';
import { chattyPolicy, recordingSimulator, sampling, tok } from './helpers';

beforeAll(setupBackend);

const prompts = ['hi', 'say', 'go on', 'well'];

/** A dialogue rollout of `policy` and its rollout-time log-probs, values and reference log-probs. */
async function stagedRollout(policy: TransformerPolicy, ref: TransformerPolicy, critic: Critic) {
  const ro = await dialogueRollout(policy, prompts, tok, sampling, resolveDialogueOptions({ userSimulator: recordingSimulator().sim }), new Rng(3));
  const plan = minibatchPlan(ro.batch.batch, { ppoEpochs: 2, miniBatchSize: 2 }, new Rng(4));
  const old = await evaluateRollout(policy, critic, ro, plan[0]!, 1);
  const refLogProbs = await referenceLogProbs(ref, ro, plan[0]!, 1);
  // Response columns of user-turn tokens: real tokens (inside the response) with mask 0.
  const R = ro.responseLength;
  const user: number[] = [];
  ro.responseIds.forEach((r, b) => r.forEach((_, t) => { if (ro.responseMask[b * R + t] === 0) user.push(b * R + t); }));
  return { ro, plan, old, refLogProbs, user };
}

const advantagesOf = (s: Awaited<ReturnType<typeof stagedRollout>>, refLogProbs: Float32Array, logProbs = s.old.logProbs) => computeAdvantages({
  logProbs, refLogProbs, values: s.old.values, mask: s.ro.responseMask, scores: s.ro.responseIds.map((r) => r.length / 10),
  batch: s.ro.batch.batch, length: s.ro.responseLength, klCoef: 0.1, estimator: 'k1', whitenRewards: false, gamma: 1, lam: 0.95,
}, 'test');

/** `x` with `value` written at the columns `at`. */
const withAt = (x: Float32Array, at: readonly number[], value: number) => {
  const y = Float32Array.from(x);
  for (const i of at) y[i] = value;
  return y;
};

describe('multi-turn PPO trains only assistant tokens', () => {
  it('the KL sums over assistant tokens only; advantages and returns are 0 on user tokens', async () => {
    const policy = chattyPolicy();
    const ref = chattyPolicy(4);
    const critic: Critic = { kind: 'shared', head: zeroValueHead(policy.config.dModel) };
    const s = await stagedRollout(policy, ref, critic);
    expect(s.user.length).toBeGreaterThan(0);
    const adv = await advantagesOf(s, s.refLogProbs);
    const R = s.ro.responseLength;
    s.ro.responseIds.forEach((_, b) => {
      let kl = 0;
      for (let t = 0; t < R; t++) if (s.ro.responseMask[b * R + t] === 1) kl += s.old.logProbs[b * R + t]! - s.refLogProbs[b * R + t]!;
      expect(adv.seqKl[b]).toBeCloseTo(kl, 4);
    });
    for (const i of s.user) {
      expect(adv.advantages[i]).toBe(0);
      expect(adv.returns[i]).toBe(0);
    }
    // Changing the policy's or the reference's log-probs of user tokens changes nothing.
    const moved = await advantagesOf(s, withAt(s.refLogProbs, s.user, -7), withAt(s.old.logProbs, s.user, 2));
    expect(moved.seqKl).toEqual(adv.seqKl);
    expect(Array.from(moved.advantages)).toEqual(Array.from(adv.advantages));
    expect(Array.from(moved.returns)).toEqual(Array.from(adv.returns));
    tf.dispose([critic.kind === 'shared' ? [critic.head.weight, critic.head.bias] : []]);
    policy.dispose();
    ref.dispose();
  });

  it('the PPO update is bit-identical whatever the targets of user tokens are (and not for assistant tokens)', async () => {
    const policy = chattyPolicy();
    const critic: Critic = { kind: 'shared', head: zeroValueHead(policy.config.dModel) };
    const s = await stagedRollout(policy, policy, critic);
    const adv = await advantagesOf(s, s.refLogProbs);
    const base: UpdateTargets = { oldLogProbs: s.old.logProbs, oldValues: s.old.values, advantages: adv.advantages, returns: adv.returns };
    const o = resolvePPOOptions({ policy, reward: () => [], tokenizer: tok, learningRate: 1e-2, vfCoef: 0.5 });
    const update = async (targets: UpdateTargets) => {
      const p = policy.clone();
      const head = zeroValueHead(policy.config.dModel);
      const c: Critic = { kind: 'shared', head };
      const opt = new AdamW([...p.trainableVariables, head.weight, head.bias], { learningRate: o.learningRate, weightDecay: 0 });
      await ppoUpdate({ policy: p, critic: c, opt, ro: s.ro, targets, plan: s.plan, o, rng: new Rng(1), ptxData: undefined, logger: o.logger, step: 1 });
      const weights = await Promise.all([...p.trainableVariables, head.weight, head.bias].map((v) => v.data()));
      opt.dispose();
      p.dispose();
      tf.dispose([head.weight, head.bias]);
      return weights.map((w) => Array.from(w as Float32Array));
    };
    const garbage = (at: number[]): UpdateTargets => ({
      oldLogProbs: withAt(base.oldLogProbs, at, 5), oldValues: withAt(base.oldValues, at, -1e3),
      advantages: withAt(base.advantages, at, 1e3), returns: withAt(base.returns, at, 1e3),
    });
    const clean = await update(base);
    const before = await Promise.all(policy.trainableVariables.map(async (v) => Array.from((await v.data()) as Float32Array)));
    expect(clean.slice(0, before.length)).not.toEqual(before); // the update did train the policy
    expect(await update(garbage(s.user))).toEqual(clean); // user tokens: no effect at all
    const R = s.ro.responseLength;
    const assistant = s.ro.responseIds.flatMap((r, b) => r.map((_, t) => b * R + t)).filter((i) => s.ro.responseMask[i] === 1);
    expect(await update(garbage(assistant.slice(0, 3)))).not.toEqual(clean); // control: assistant tokens do count
    tf.dispose([critic.kind === 'shared' ? [critic.head.weight, critic.head.bias] : []]);
    policy.dispose();
  });
});
