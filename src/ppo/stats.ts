/**
 * The metrics one PPO step reports, under the names TRL and CleanRL users know, and how they are
 * computed from what the stages returned ({@link stepStats}) and reported ({@link reportStep}). Each
 * metric is documented once, here; docs/guides/ppo-metrics.md explains how to read them.
 * @module
 */
import { logSamples } from '../report/metrics-logger';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { AdvantageOutputs } from './advantages';
import type { ResolvedPPOOptions } from './options';
import type { Rollout } from './rollout';
import type { Scores } from './score';
import type { UpdateStats } from './update';

/** Stats returned by {@link PPOTrainer.step}. */
export interface PPOStats {
  /** Mean over sequences of the summed per-token KL to the reference (nats per sequence). */
  'objective/kl': number;
  /** KL coefficient beta used for this step's rewards. */
  'objective/kl_coef': number;
  /** Mean over sequences of the summed `-log p` of the sampled tokens (a sample estimate of entropy). */
  'objective/entropy': number;
  /** Mean over sequences of the summed KL penalty `-beta * KL`. */
  'objective/non_score_reward': number;
  /** Mean score from the reward (after the missing-EOS penalty). */
  'objective/scores': number;
  /** Mean of score + non-score reward: what PPO maximises. */
  'objective/rlhf_reward': number;
  /** Mean over minibatches of `0.5 * mean((logp - logp_old)^2)`. */
  'policy/approxkl_avg': number;
  /** Mean fraction of tokens where the clipped policy term is chosen strictly (zero gradient there). */
  'policy/clipfrac_avg': number;
  /** Mean entropy (nats per token) of the tempered next-token distribution during the update. */
  'policy/entropy_avg': number;
  /** Mean clipped policy loss. */
  'loss/policy_avg': number;
  /** Mean clipped value loss (before `vfCoef`). */
  'loss/value_avg': number;
  /** Mean pretraining loss (PPO-ptx), 0 when off. */
  'loss/ptx_avg': number;
  /** Mean fraction of tokens where the clipped value error is strictly larger. */
  'val/clipfrac_avg': number;
  /** Mean probability ratio `exp(logp - logp_old)` over minibatches. */
  'val/ratio': number;
  /** Number of responses that ended with a stop token. */
  'val/num_eos_tokens': number;
  /** `1 - Var(R - V) / Var(R)` of rollout values against returns over real tokens. */
  'val/explained_variance': number;
  /** Mean response length in tokens. */
  'val/response_length': number;
  /** Mean tool calls per response (0 without the `tools` option). */
  'tools/calls_per_response': number;
  /** Tool calls in this batch whose result was an error (0 without the `tools` option). */
  'tools/errors': number;
  /** Mean assistant turns per conversation (1 without the `dialogue` option). */
  'dialogue/turns_per_conversation': number;
  /** User-turn tokens in this batch's responses, all masked out of every loss and the KL (0 without the `dialogue` option). */
  'dialogue/user_tokens_masked': number;
  /** Learning rate. */
  lr: number;
  /** Episodes (responses) seen so far, this step included. */
  episode: number;
  /** PPO steps taken so far, this step included. */
  step: number;
  /** Approx KL of the first minibatch of the first epoch: exactly 0 when rollout and update agree. */
  'policy/approxkl_first': number;
  /** Seconds spent generating. */
  'time/rollout': number;
  /** Seconds spent computing reference log-probs, values and scores. */
  'time/score': number;
  /** Seconds spent in the PPO update. */
  'time/update': number;
  /** Seconds for the whole step. */
  'time/total': number;
}

/** What the stages of one PPO step returned: the input of {@link stepStats} and {@link reportStep}. */
export interface StepRecord {
  /** Stage 1: the samples and their layout. */
  rollout: Rollout;
  /** Stage 1: log-probs `[B * R]` of the sampled tokens under the policy at rollout time. */
  oldLogProbs: Float32Array;
  /** Stage 5: the critic's values `[B * R]` at rollout time. */
  oldValues: Float32Array;
  /** Stage 3: the scores. */
  scores: Scores;
  /** Stages 4 and 6: KL, rewards, advantages and returns. */
  advantages: AdvantageOutputs;
  /** Stage 7: averaged minibatch metrics. */
  update: UpdateStats;
  /** The KL coefficient beta used in stage 4 (before stage 8 updated it). */
  klCoef: number;
  /** The learning rate of the update. */
  learningRate: number;
  /** Steps and episodes so far, this step included. */
  progress: { step: number; episode: number };
  /** Seconds spent in stage 1 (`rollout`), stages 1-6 after sampling (`score`) and stages 7-8 (`update`). */
  seconds: { rollout: number; score: number; update: number };
}

/**
 * Mean over sequences of the summed `-log p` of the sampled tokens: a one-sample estimate of the
 * policy's sequence entropy (TRL's `objective/entropy`).
 * @param logProbs - `[B * R]` log-probs of the sampled tokens.
 * @param mask - `[B * R]`, 1 on real response tokens; other entries are skipped (whatever they hold).
 * @param batch - rows B.
 */
export function sampleEntropy(logProbs: Float32Array, mask: Float32Array, batch: number): number {
  const R = batch === 0 ? 0 : logProbs.length / batch;
  const perSeq: number[] = [];
  for (let b = 0; b < batch; b++) {
    let s = 0;
    for (let t = 0; t < R; t++) if (mask[b * R + t] !== 0) s += logProbs[b * R + t] as number; // padding skipped, not multiplied by 0
    perSeq.push(-s);
  }
  return mean(perSeq);
}

/** The {@link PPOStats} of one step, from what its stages returned. */
export function stepStats(r: StepRecord): PPOStats {
  const ro = r.rollout;
  const { firstApproxKl, ...updateStats } = r.update;
  const nonScore = mean(r.advantages.seqNonScore);
  const score = mean(r.scores.final);
  const { rollout, score: scoring, update } = r.seconds;
  return {
    'objective/kl': mean(r.advantages.seqKl), 'objective/kl_coef': r.klCoef,
    'objective/entropy': sampleEntropy(r.oldLogProbs, ro.responseMask, ro.batch.batch),
    'objective/non_score_reward': nonScore, 'objective/scores': score, 'objective/rlhf_reward': score + nonScore,
    ...updateStats,
    'val/num_eos_tokens': ro.hitStop.filter(Boolean).length,
    'val/explained_variance': explainedVariance(r.oldValues, r.advantages.returns, ro.responseMask),
    'val/response_length': mean(ro.responseIds.map((x) => x.length)),
    'tools/calls_per_response': mean(ro.toolCalls), 'tools/errors': ro.toolErrors.reduce((a, x) => a + x, 0),
    'dialogue/turns_per_conversation': ro.dialogue ? mean(ro.dialogue.turns.map((t) => t.length)) : 1,
    'dialogue/user_tokens_masked': ro.dialogue ? ro.dialogue.userTokens.reduce((a, x) => a + x, 0) : 0,
    lr: r.learningRate, episode: r.progress.episode, step: r.progress.step,
    'policy/approxkl_first': firstApproxKl,
    'time/rollout': rollout, 'time/score': scoring, 'time/update': update, 'time/total': rollout + scoring + update,
  };
}

/**
 * Sends one step to `o.logger`: a warning when the batch-mean KL is negative, the stats at level
 * `info` (message `"ppo step"`), and every `o.sampleEvery` steps a table of `o.sampleRows` samples
 * (prompt, response decoded by `tokenizer`, score, KL). Returns `stats`.
 */
export function reportStep(stats: PPOStats, r: StepRecord, o: Pick<ResolvedPPOOptions, 'logger' | 'sampleEvery' | 'sampleRows'>, tokenizer: Tokenizer): PPOStats {
  const { logger } = o;
  const kl = stats['objective/kl'];
  if (kl < 0) logger.log('warn', `negative mean KL ${kl.toFixed(4)}: check temperature and that top-k/top-p are off`, { step: stats.step });
  logger.log('info', 'ppo step', { ...stats });
  if (o.sampleEvery > 0 && stats.step % o.sampleEvery === 0) {
    const ro = r.rollout;
    logSamples(logger, stats.step, ro.prompts.slice(0, o.sampleRows).map((prompt, b) => ({
      prompt, response: tokenizer.decode(ro.responseIds[b] as number[]),
      score: r.scores.final[b] as number, kl: r.advantages.seqKl[b] as number,
    })));
  }
  return stats;
}

/** Mean of an array (0 for none). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, x) => a + x, 0) / xs.length;
}

/** `1 - Var(R - V) / Var(R)` over entries where `mask` is 1 (population variances). */
export function explainedVariance(values: Float32Array, returns: Float32Array, mask: Float32Array): number {
  const r: number[] = [];
  const d: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    r.push(returns[i] as number);
    d.push((returns[i] as number) - (values[i] as number));
  }
  const v = (xs: number[]) => {
    const m = mean(xs);
    return mean(xs.map((x) => (x - m) ** 2));
  };
  const vr = v(r);
  return vr === 0 ? NaN : 1 - v(d) / vr;
}
