/**
 * The GRPO policy loss as a function of tensors: a per-token clipped surrogate with one advantage per
 * sequence, plus `beta` times the k3 KL to the reference, aggregated as GRPO, Dr. GRPO, DAPO or BNPO
 * (TRL's `loss_type`).
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { checkNumber } from '../ops/validate';
import { binaryMask, checkSameShape, checkTensor, stopGradient, zeroPadding } from './internal';

/**
 * How {@link grpoLoss} aggregates per-token losses `l[b, t]`:
 * - `'grpo'`: `mean_b (sum_t l / |o_b|)` (paper; per-sequence mean, then mean);
 * - `'dr_grpo'`: `sum l / (B * maxCompletionLength)` (no length normalisation);
 * - `'dapo'` and `'bnpo'`: `sum l / (real tokens)` (token mean over the batch; identical here, as
 *   there is no gradient accumulation across processes).
 */
export type GrpoLossType = 'grpo' | 'dr_grpo' | 'dapo' | 'bnpo';

/** Arguments of {@link grpoLoss}; token tensors are `[B, T]`. */
export interface GrpoLossArgs {
  /** Log-probs of the sampled tokens under the current policy `[B, T]`; receives the gradient. */
  logProbs: tf.Tensor;
  /** Log-probs at sampling time `[B, T]`; a constant. */
  oldLogProbs: tf.Tensor;
  /** Log-probs under the reference `[B, T]`; needed when `beta > 0`; a constant. */
  refLogProbs?: tf.Tensor;
  /** One advantage per sequence `[B]`; a constant. */
  advantages: tf.Tensor;
  /** `[B, T]`: nonzero on real completion tokens. */
  mask: tf.Tensor;
  /** Lower clip epsilon. Default `0.2`. */
  epsilon?: number;
  /** Upper clip epsilon (DAPO suggests 0.28). Default `epsilon`. */
  epsilonHigh?: number;
  /** Weight of the k3 KL term. Default `0`. */
  beta?: number;
  /** Aggregation, see {@link GrpoLossType}. Default `'dapo'` (TRL's default). */
  lossType?: GrpoLossType;
  /** Divisor length for `'dr_grpo'`. Default `T`. */
  maxCompletionLength?: number;
}

/** Result of {@link grpoLoss}: new scalars owned by the caller. */
export interface GrpoLossResult {
  /** The aggregated loss. */
  loss: tf.Scalar;
  /** Mean over real tokens of the k3 KL to the reference (0 when `beta = 0` and no reference). */
  kl: tf.Scalar;
  /** Fraction of real tokens clipped low (ratio < 1 - eps with A < 0) or high (ratio > 1 + eps with A > 0). */
  clipRatio: tf.Scalar;
  /** Fraction of real tokens clipped low. */
  clipRatioLow: tf.Scalar;
  /** Fraction of real tokens clipped high. */
  clipRatioHigh: tf.Scalar;
  /** Mean over real tokens of the ratio `exp(logp - logp_old)`. */
  ratio: tf.Scalar;
}

function checkArgs(a: GrpoLossArgs) {
  const eps = checkNumber('GrpoLossArgs.epsilon', a.epsilon ?? 0.2, { gt: 0 });
  const epsHigh = checkNumber('GrpoLossArgs.epsilonHigh', a.epsilonHigh ?? eps, { gt: 0 });
  const beta = checkNumber('GrpoLossArgs.beta', a.beta ?? 0, { ge: 0 });
  const lossType = a.lossType ?? 'dapo';
  if (!['grpo', 'dr_grpo', 'dapo', 'bnpo'].includes(lossType)) throw new ConfigError('GrpoLossArgs.lossType', lossType, "must be 'grpo', 'dr_grpo', 'dapo' or 'bnpo'");
  checkTensor('logProbs', a.logProbs);
  if (a.logProbs.rank !== 2) throw new InputError('logProbs', a.logProbs.shape, 'must be a rank-2 tensor [B, T]');
  checkSameShape('oldLogProbs', a.oldLogProbs, 'logProbs', a.logProbs);
  checkSameShape('mask', a.mask, 'logProbs', a.logProbs);
  if (beta > 0 || a.refLogProbs !== undefined) checkSameShape('refLogProbs', a.refLogProbs, 'logProbs', a.logProbs);
  checkTensor('advantages', a.advantages);
  if (a.advantages.rank !== 1 || a.advantages.shape[0] !== a.logProbs.shape[0]) {
    throw new InputError('advantages', a.advantages.shape, `must be [B] = [${a.logProbs.shape[0]}]`);
  }
  const T = a.logProbs.shape[1] as number;
  const maxLen = checkNumber('GrpoLossArgs.maxCompletionLength', a.maxCompletionLength ?? T, { gt: 0 });
  return { eps, epsHigh, beta, lossType, maxLen };
}

/**
 * GRPO's per-token loss `l = -min(ratio A, clip(ratio, 1 - eps, 1 + epsHigh) A) + beta KL3`, with
 * `KL3 = exp(ref - logp) - (ref - logp) - 1` (TRL `GRPOTrainer._compute_loss`), aggregated per
 * `lossType`. With `logProbs` equal to `oldLogProbs` the ratio is 1, nothing is clipped, and with
 * `beta = 0` and `'grpo'` aggregation the loss is `-mean(A)` (0 for group-centred advantages) while
 * its gradient is not 0. Padded tokens are ignored (even NaN) and get exactly zero gradient.
 *
 * @param args - see {@link GrpoLossArgs}.
 * @returns see {@link GrpoLossResult}.
 * @throws {@link InputError} for missing tensors or mismatched shapes.
 * @throws {@link ConfigError} for bad epsilons, beta, loss type or length.
 */
export function grpoLoss(args: GrpoLossArgs): GrpoLossResult {
  const { eps, epsHigh, beta, lossType, maxLen } = checkArgs(args);
  const out = tf.tidy(() => {
    const m = binaryMask(args.mask); //                                          [B, T]
    const B = m.shape[0] as number;
    const lp = zeroPadding(args.logProbs, m);
    const adv = tf.expandDims(stopGradient(args.advantages), 1); //              [B, 1]
    const ratio = tf.exp(tf.sub(lp, zeroPadding(stopGradient(args.oldLogProbs), m))); // [B, T]
    const clipped = tf.clipByValue(ratio, 1 - eps, 1 + epsHigh);
    let perToken: tf.Tensor = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv))); // [B, T]
    let kl: tf.Tensor = tf.zerosLike(lp);
    if (args.refLogProbs !== undefined) {
      const d = tf.sub(zeroPadding(stopGradient(args.refLogProbs), m), lp); //  [B, T] ref - logp
      kl = tf.maximum(tf.sub(tf.expm1(d), d), 0);
      if (beta > 0) perToken = tf.add(perToken, tf.mul(kl, beta));
    }
    const masked = tf.mul(perToken, m);
    const tokens = tf.maximum(tf.sum(m), 1);
    let loss: tf.Tensor;
    if (lossType === 'grpo') loss = tf.mean(tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(m, 1), 1)));
    else if (lossType === 'dr_grpo') loss = tf.div(tf.sum(masked), B * maxLen);
    else loss = tf.div(tf.sum(masked), tokens);
    const frac = (x: tf.Tensor) => tf.div(tf.sum(tf.mul(tf.cast(x, 'float32'), m)), tokens);
    const low = frac(tf.logicalAnd(tf.less(ratio, 1 - eps), tf.less(adv, 0)));
    const high = frac(tf.logicalAnd(tf.greater(ratio, 1 + epsHigh), tf.greater(adv, 0)));
    return {
      loss, kl: tf.div(tf.sum(tf.mul(kl, m)), tokens),
      clipRatio: tf.add(low, high), clipRatioLow: low, clipRatioHigh: high, ratio: tf.div(tf.sum(tf.mul(ratio, m)), tokens),
    };
  });
  return out as unknown as GrpoLossResult;
}
