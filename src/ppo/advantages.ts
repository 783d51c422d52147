/**
 * PPO stages 4 and 6 (numbered as in docs/guides/ppo.md): per-token rewards (`-beta * KL_t`, plus the
 * score at the last response token), optional reward whitening; then, from stage 5's values, GAE with
 * the value after the last token taken as 0 and advantage whitening over real tokens. Inputs and outputs are plain arrays `[B * R]`; the math is the functional core.
 * @module
 */
import { tf } from '../tf';
import { NonFiniteError } from '../errors';
import { gae } from '../rl/gae';
import { klPenalty, type KlEstimator } from '../rl/kl';
import { maskedWhiten } from '../rl/masked';
import { perTokenRewards } from '../rl/rewards';

/** Inputs of {@link computeAdvantages}. */
export interface AdvantageInputs {
  /** Rollout log-probs `[B * R]`. */
  logProbs: Float32Array;
  /** Reference log-probs `[B * R]`. */
  refLogProbs: Float32Array;
  /** Rollout values `[B * R]`. */
  values: Float32Array;
  /** Response mask `[B * R]`. */
  mask: Float32Array;
  /** Scores `[B]`, each added at its row's last real token (ignored when `tokenScores` is given). */
  scores: number[];
  /**
   * Scores placed token by token `[B * R]` (multi-turn dialogue with a score per turn), added where
   * the mask is 1, instead of `scores` at the last token. Default: none.
   */
  tokenScores?: Float32Array;
  /** Rows. */
  batch: number;
  /** Response columns. */
  length: number;
  /** KL coefficient beta. */
  klCoef: number;
  /** KL estimator. */
  estimator: KlEstimator;
  /** Whiten rewards (scale only). */
  whitenRewards: boolean;
  /** GAE discount. */
  gamma: number;
  /** GAE lambda. */
  lam: number;
}

/** Outputs of {@link computeAdvantages}, `[B * R]` arrays plus per-sequence sums `[B]`. */
export interface AdvantageOutputs {
  /** Whitened advantages. */
  advantages: Float32Array;
  /** Value targets. */
  returns: Float32Array;
  /** Per-token KL estimate. */
  kl: Float32Array;
  /** Per-sequence summed KL. */
  seqKl: number[];
  /** Per-sequence summed non-score reward `-beta * sum KL`. */
  seqNonScore: number[];
}

/** Stages 4 and 6. Throws {@link NonFiniteError} if any advantage or return is not finite. */
export async function computeAdvantages(x: AdvantageInputs, where: string): Promise<AdvantageOutputs> {
  const { batch: B, length: R } = x;
  const out = tf.tidy(() => {
    const mask = tf.tensor2d(x.mask, [B, R]);
    const kl = klPenalty(tf.tensor2d(x.logProbs, [B, R]), tf.tensor2d(x.refLogProbs, [B, R]), x.estimator); // [B, R]
    const klM = tf.mul(kl, mask); //                                                                          [B, R]
    const last = x.tokenScores === undefined ? x.scores : x.scores.map(() => 0);
    let rewards = perTokenRewards({ scores: tf.tensor1d(last), kl, mask, klCoef: x.klCoef }); //               [B, R]
    if (x.tokenScores !== undefined) rewards = tf.add(rewards, tf.mul(tf.tensor2d(x.tokenScores, [B, R]), mask)) as tf.Tensor2D; // [B, R]
    if (x.whitenRewards) rewards = maskedWhiten(rewards, mask, false) as tf.Tensor2D;
    const { advantages, returns } = gae(rewards, tf.tensor2d(x.values, [B, R]), mask, { gamma: x.gamma, lam: x.lam });
    return [maskedWhiten(advantages, mask, true), returns, klM, tf.sum(klM, 1)];
  });
  const [adv, ret, kl, seqKl] = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
  tf.dispose(out);
  for (let i = 0; i < (adv as Float32Array).length; i++) {
    if (!Number.isFinite(adv![i]!) || !Number.isFinite(ret![i]!)) throw new NonFiniteError('advantage or return', adv![i]!, where);
  }
  const seqKlArr = Array.from(seqKl as Float32Array);
  return {
    advantages: adv as Float32Array,
    returns: ret as Float32Array,
    kl: kl as Float32Array,
    seqKl: seqKlArr,
    seqNonScore: seqKlArr.map((k) => -x.klCoef * k),
  };
}
