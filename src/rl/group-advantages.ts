/**
 * Critic-free advantages from groups of samples of the same prompt: GRPO's group normalisation
 * (DeepSeekMath §4.1), Dr. GRPO's mean-only variant, and RLOO's leave-one-out baseline (Ahmadian et
 * al. 2024). Rewards come as `[B, G]`: B prompts, G samples of each.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { checkNumber } from '../ops/validate';
import { checkTensor } from './internal';

/** How {@link groupAdvantages} scales `r - mean_group(r)` (TRL's `scale_rewards`). */
export type RewardScaling = 'group' | 'batch' | 'none';

/** Options of {@link groupAdvantages}. */
export interface GroupAdvantagesOptions {
  /**
   * `'group'`: divide by the group's (Bessel-corrected) std, GRPO; `'batch'`: by the std of the whole
   * batch; `'none'`: no division, Dr. GRPO. Default `'group'`.
   */
  scale?: RewardScaling;
  /** Added to the std before dividing (TRL 1e-4). Default `1e-4`. */
  epsilon?: number;
}

function checkRewards(rewards: unknown): asserts rewards is tf.Tensor2D {
  checkTensor('rewards', rewards);
  if (rewards.rank !== 2) throw new InputError('rewards', rewards.shape, 'must be a rank-2 tensor [B, G]');
  if ((rewards.shape[1] as number) < 2) throw new InputError('rewards', rewards.shape, 'needs G >= 2 samples per group (G = 1 gives no signal)');
}

/** `[B, 1]` bool: true where every reward of the group is the same. */
function constantGroups(r: tf.Tensor2D): tf.Tensor {
  return tf.equal(tf.max(r, 1, true), tf.min(r, 1, true));
}

/**
 * GRPO advantages: `(r - mean_group(r)) / (std + epsilon)` per group, with `std` the group's
 * Bessel-corrected std (`scale: 'group'`), the batch's (`'batch'`), or no division (`'none'`, Dr. GRPO).
 * A group whose rewards are all equal gets exactly 0 (never NaN). Advantages sum to 0 within each
 * group for `'none'` (and up to rounding otherwise).
 *
 * @param rewards - `[B, G]` scores, G >= 2 samples per prompt.
 * @param options - see {@link GroupAdvantagesOptions}.
 * @returns `[B, G]` advantages, a new tensor owned by the caller.
 * @throws {@link InputError} for a non-tensor, wrong rank or G < 2.
 * @throws {@link ConfigError} for a bad scale or epsilon.
 */
export function groupAdvantages(rewards: tf.Tensor, options: GroupAdvantagesOptions = {}): tf.Tensor2D {
  const scale = options.scale ?? 'group';
  if (!['group', 'batch', 'none'].includes(scale)) throw new ConfigError('GroupAdvantagesOptions.scale', scale, "must be 'group', 'batch' or 'none'");
  const eps = checkNumber('GroupAdvantagesOptions.epsilon', options.epsilon ?? 1e-4, { ge: 0 });
  checkRewards(rewards);
  return tf.tidy(() => {
    const r = tf.cast(rewards, 'float32') as tf.Tensor2D; //                 [B, G]
    const G = r.shape[1];
    const centered = tf.sub(r, tf.mean(r, 1, true)); //                       [B, G]
    let adv: tf.Tensor = centered;
    if (scale === 'group') {
      const std = tf.sqrt(tf.div(tf.sum(tf.square(centered), 1, true), G - 1)); // [B, 1]
      adv = tf.div(centered, tf.add(std, eps));
    } else if (scale === 'batch') {
      const n = r.size;
      const all = tf.sub(r, tf.mean(r));
      const std = n > 1 ? tf.sqrt(tf.div(tf.sum(tf.square(all)), n - 1)) : tf.scalar(0);
      adv = tf.div(centered, tf.add(std, eps));
    }
    return tf.where(tf.broadcastTo(constantGroups(r), r.shape), tf.zerosLike(r), adv) as tf.Tensor2D;
  });
}

/**
 * RLOO advantages: each sample's reward minus the mean reward of the other G - 1 samples of its
 * prompt, `A_i = r_i - (sum_j r_j - r_i) / (G - 1) = G / (G - 1) (r_i - mean(r))`. A sample never
 * enters its own baseline; advantages sum to 0 per group; a constant group gets exactly 0.
 *
 * @param rewards - `[B, G]` scores, G >= 2 samples per prompt.
 * @returns `[B, G]` advantages, a new tensor owned by the caller.
 * @throws {@link InputError} for a non-tensor, wrong rank or G < 2.
 */
export function rlooAdvantages(rewards: tf.Tensor): tf.Tensor2D {
  checkRewards(rewards);
  return tf.tidy(() => {
    const r = tf.cast(rewards, 'float32') as tf.Tensor2D; //                 [B, G]
    const G = r.shape[1];
    const baseline = tf.div(tf.sub(tf.sum(r, 1, true), r), G - 1); //       [B, G] mean of the others
    const adv = tf.sub(r, baseline);
    return tf.where(tf.broadcastTo(constantGroups(r), r.shape), tf.zerosLike(r), adv) as tf.Tensor2D;
  });
}
