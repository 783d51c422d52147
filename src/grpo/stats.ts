/**
 * The metrics a GRPO / RLOO step reports, under TRL's GRPO names; each documented once here.
 * @module
 */

/** Stats returned by `GRPOTrainer.step` and `RLOOTrainer.step`. */
export interface GRPOStats {
  /** Mean score of the completions (after the missing-EOS penalty). */
  reward: number;
  /** Mean over prompts of the std of their G scores. */
  reward_std: number;
  /** Fraction of prompts whose G scores are all equal (no policy gradient from them). */
  frac_reward_zero_std: number;
  /** Mean k3 KL per completion token to the reference, during the update (also reported when `beta = 0`). */
  kl: number;
  /** Mean entropy (nats per token) of the tempered next-token distribution during the update. */
  entropy: number;
  /** Mean fraction of tokens whose ratio was clipped (low or high). */
  'clip_ratio/region_mean': number;
  /** Mean fraction of tokens clipped low (ratio < 1 - epsilon, negative advantage). */
  'clip_ratio/low_mean': number;
  /** Smallest per-minibatch fraction clipped low. */
  'clip_ratio/low_min': number;
  /** Mean fraction of tokens clipped high (ratio > 1 + epsilonHigh, positive advantage). */
  'clip_ratio/high_mean': number;
  /** Largest per-minibatch fraction clipped high. */
  'clip_ratio/high_max': number;
  /** Mean completion length in tokens (stop token included). */
  'completions/mean_length': number;
  /** Shortest completion. */
  'completions/min_length': number;
  /** Longest completion. */
  'completions/max_length': number;
  /** Fraction of completions that hit no stop token (cut at `maxNewTokens`). */
  'completions/clipped_ratio': number;
  /** Mean tool calls per completion (0 without the `tools` option). */
  'tools/calls_per_response': number;
  /** Tool calls in this step whose result was an error text (0 without the `tools` option). */
  'tools/errors': number;
  /** Mean loss over minibatches. */
  loss: number;
  /** Mean global gradient norm before clipping. */
  grad_norm: number;
  /** Learning rate. */
  learning_rate: number;
  /** Completion tokens generated so far, this step included. */
  num_tokens: number;
  /** Mean ratio of the first minibatch: exactly 1 when sampling and update agree. */
  'policy/ratio_first': number;
  /** Steps so far, this one included. */
  step: number;
  /** Completions seen so far. */
  episode: number;
  /** Seconds for the whole step. */
  step_time: number;
}

/** `reward`, `reward_std` and `frac_reward_zero_std` of `[B * G]` scores laid out prompt by prompt. */
export function groupRewardStats(scores: readonly number[], G: number): Pick<GRPOStats, 'reward' | 'reward_std' | 'frac_reward_zero_std'> {
  const B = scores.length / G;
  let stdSum = 0;
  let zero = 0;
  for (let b = 0; b < B; b++) {
    const g = scores.slice(b * G, (b + 1) * G);
    const m = g.reduce((a, x) => a + x, 0) / G;
    stdSum += Math.sqrt(g.reduce((a, x) => a + (x - m) ** 2, 0) / (G - 1));
    if (g.every((x) => x === g[0])) zero++;
  }
  return { reward: scores.reduce((a, x) => a + x, 0) / scores.length, reward_std: stdSum / B, frac_reward_zero_std: zero / B };
}
