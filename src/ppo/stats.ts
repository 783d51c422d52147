/**
 * The metrics one PPO step reports, under the names TRL and CleanRL users know. Each is documented
 * once, here; docs/guides/ppo-metrics.md explains how to read them.
 * @module
 */

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
