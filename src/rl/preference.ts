/**
 * Direct preference losses as functions of tensors: the pairwise DPO family (sigmoid, cDPO, robust,
 * IPO, hinge) and the listwise Plackett-Luce loss for K-way rankings with ties. Inputs are summed
 * completion log-probs (one number per response) under the policy and the frozen reference.
 *
 * All functions return new tensors owned by the caller and are callable inside `tf.tidy` and inside
 * gradient functions; gradient flows to the policy log-probs only.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { checkNumber } from '../ops/validate';
import { checkSameShape, checkTensor, stopGradient } from './internal';

/** Which pairwise loss {@link dpoLoss} computes (TRL's `loss_type` names). */
export type DpoLossType = 'sigmoid' | 'robust' | 'ipo' | 'hinge';

/** Arguments of {@link dpoLoss}; the four log-prob tensors are `[P]` (one entry per pair). */
export interface DpoLossArgs {
  /** Summed completion log-probs of the chosen responses under the policy `[P]`; receives the gradient. */
  policyChosenLogps: tf.Tensor;
  /** Summed completion log-probs of the rejected responses under the policy `[P]`; receives the gradient. */
  policyRejectedLogps: tf.Tensor;
  /** Same for the chosen responses under the reference `[P]`; a constant. */
  refChosenLogps: tf.Tensor;
  /** Same for the rejected responses under the reference `[P]`; a constant. */
  refRejectedLogps: tf.Tensor;
  /** Temperature beta (for IPO tau, for hinge 1 / margin); finite, > 0. Default `0.1`. */
  beta?: number;
  /** `'sigmoid'` (DPO; cDPO when `labelSmoothing > 0`), `'robust'`, `'ipo'` or `'hinge'`. Default `'sigmoid'`. */
  lossType?: DpoLossType;
  /** Label noise epsilon in `[0, 0.5)` for `'sigmoid'` (cDPO) and `'robust'`. Default `0`. */
  labelSmoothing?: number;
}

/** Result of {@link dpoLoss}: new tensors owned by the caller. */
export interface DpoLossResult {
  /** Mean of {@link DpoLossResult.losses}. */
  loss: tf.Scalar;
  /** Per-pair losses `[P]`. */
  losses: tf.Tensor1D;
  /** Implicit rewards `beta * (logp - logp_ref)` of the chosen responses `[P]` (no gradient). */
  chosenRewards: tf.Tensor1D;
  /** Implicit rewards of the rejected responses `[P]` (no gradient). */
  rejectedRewards: tf.Tensor1D;
}

/** Validates the options shared by the preference losses. */
function checkLossOptions(args: DpoLossArgs): { beta: number; lossType: DpoLossType; eps: number } {
  const beta = checkNumber('DpoLossArgs.beta', args.beta ?? 0.1, { gt: 0 });
  const lossType = args.lossType ?? 'sigmoid';
  if (!['sigmoid', 'robust', 'ipo', 'hinge'].includes(lossType)) {
    throw new ConfigError('DpoLossArgs.lossType', lossType, "must be 'sigmoid', 'robust', 'ipo' or 'hinge'");
  }
  const eps = checkNumber('DpoLossArgs.labelSmoothing', args.labelSmoothing ?? 0, { ge: 0 });
  if (eps >= 0.5) throw new ConfigError('DpoLossArgs.labelSmoothing', eps, 'must be < 0.5');
  if (eps > 0 && (lossType === 'ipo' || lossType === 'hinge')) {
    throw new ConfigError('DpoLossArgs.labelSmoothing', eps, `is not used by lossType '${lossType}'; set it to 0`);
  }
  return { beta, lossType, eps };
}

/**
 * The DPO family of pairwise losses (Rafailov et al. 2023 and successors). With
 * `h = (logp_w - logp_ref_w) - (logp_l - logp_ref_l)`:
 * - `'sigmoid'`: `-log sigmoid(beta h)`; with label smoothing eps, cDPO: `-(1-eps) log sigmoid(beta h) - eps log sigmoid(-beta h)`.
 * - `'robust'`: `[-(1-eps) log sigmoid(beta h) + eps log sigmoid(-beta h)] / (1 - 2 eps)` (Chowdhury et al. 2024).
 * - `'ipo'`: `(h - 1 / (2 beta))^2` (summed log-probs, as the DPO repo and OpenRLHF; TRL length-normalises).
 * - `'hinge'`: `max(0, 1 - beta h)`.
 * At `policy = reference` the sigmoid loss is `ln 2` and every reward is 0.
 *
 * @param args - see {@link DpoLossArgs}.
 * @returns see {@link DpoLossResult}.
 * @throws {@link InputError} if a tensor is missing, not rank 1, or the shapes differ.
 * @throws {@link ConfigError} for a bad beta, loss type or label smoothing.
 */
export function dpoLoss(args: DpoLossArgs): DpoLossResult {
  const { beta, lossType, eps } = checkLossOptions(args);
  const { policyChosenLogps: pw, policyRejectedLogps: pl, refChosenLogps: rw, refRejectedLogps: rl } = args;
  checkTensor('policyChosenLogps', pw);
  if (pw.rank !== 1) throw new InputError('policyChosenLogps', pw.shape, 'must be a rank-1 tensor [P]');
  checkSameShape('policyRejectedLogps', pl, 'policyChosenLogps', pw);
  checkSameShape('refChosenLogps', rw, 'policyChosenLogps', pw);
  checkSameShape('refRejectedLogps', rl, 'policyChosenLogps', pw);
  const [loss, losses, chosenRewards, rejectedRewards] = tf.tidy(() => {
    const rhoW = tf.sub(pw, stopGradient(rw)); //                               [P]
    const rhoL = tf.sub(pl, stopGradient(rl)); //                               [P]
    const h = tf.sub(rhoW, rhoL); //                                            [P]
    const bh = tf.mul(h, beta); //                                              [P]
    let l: tf.Tensor;
    if (lossType === 'ipo') l = tf.square(tf.sub(h, 1 / (2 * beta)));
    else if (lossType === 'hinge') l = tf.relu(tf.sub(1, bh));
    else {
      const pos = tf.softplus(tf.neg(bh)); //                                   -log sigmoid(beta h)
      const neg = tf.softplus(bh); //                                           -log sigmoid(-beta h)
      l = lossType === 'sigmoid'
        ? tf.add(tf.mul(pos, 1 - eps), tf.mul(neg, eps))
        : tf.div(tf.sub(tf.mul(pos, 1 - eps), tf.mul(neg, eps)), 1 - 2 * eps);
    }
    return [tf.mean(l), l, tf.mul(stopGradient(rhoW), beta), tf.mul(stopGradient(rhoL), beta)];
  });
  return {
    loss: loss as tf.Scalar, losses: losses as tf.Tensor1D,
    chosenRewards: chosenRewards as tf.Tensor1D, rejectedRewards: rejectedRewards as tf.Tensor1D,
  };
}

/** Arguments of {@link plackettLuceLoss}: `N` rankings of up to `K` responses each. */
export interface PlackettLuceLossArgs {
  /** Summed completion log-probs under the policy `[N, K]`; receives the gradient. */
  policyLogps: tf.Tensor;
  /** Summed completion log-probs under the reference `[N, K]`; a constant. */
  refLogps: tf.Tensor;
  /** Rank of each response `[N, K]`: smaller is better, equal ranks are ties. */
  ranks: tf.Tensor;
  /** `[N, K]`: 1 on real responses, 0 on padding (rows with fewer than K responses). Default: all 1. */
  mask?: tf.Tensor;
  /** Temperature beta; finite, > 0. Default `0.1`. */
  beta?: number;
}

/** Result of {@link plackettLuceLoss}: new tensors owned by the caller. */
export interface PlackettLuceLossResult {
  /** Mean of {@link PlackettLuceLossResult.losses}. */
  loss: tf.Scalar;
  /** Per-ranking negative log-likelihood `[N]`. */
  losses: tf.Tensor1D;
  /** Implicit rewards `beta * (logp - logp_ref)` `[N, K]` (no gradient; 0 on padding). */
  rewards: tf.Tensor2D;
}

/**
 * Listwise DPO under the Plackett-Luce model (DPO paper App. A.3): with `s = beta (logp - logp_ref)`
 * and responses sorted best first, `L = -sum_k [s_k - logsumexp(s_k..s_K)]`. For K = 2 this is the
 * DPO sigmoid loss. Ties use Breslow's approximation: each response's term uses the set of responses
 * not ranked above it (its tied peers included), and the worst-ranked group contributes nothing (the
 * last Plackett-Luce factor is 1). The loss depends only on ranks, never on storage order. Padded
 * entries are ignored, even if they hold NaN.
 *
 * @param args - see {@link PlackettLuceLossArgs}.
 * @returns see {@link PlackettLuceLossResult}.
 * @throws {@link InputError} for a missing tensor, wrong rank or shape mismatch.
 * @throws {@link ConfigError} for a bad beta.
 */
export function plackettLuceLoss(args: PlackettLuceLossArgs): PlackettLuceLossResult {
  const beta = checkNumber('PlackettLuceLossArgs.beta', args.beta ?? 0.1, { gt: 0 });
  const { policyLogps, refLogps, ranks } = args;
  checkTensor('policyLogps', policyLogps);
  if (policyLogps.rank !== 2) throw new InputError('policyLogps', policyLogps.shape, 'must be a rank-2 tensor [N, K]');
  checkSameShape('refLogps', refLogps, 'policyLogps', policyLogps);
  checkSameShape('ranks', ranks, 'policyLogps', policyLogps);
  if (args.mask !== undefined) checkSameShape('mask', args.mask, 'policyLogps', policyLogps);
  const [loss, losses, rewards] = tf.tidy(() => {
    const m = args.mask === undefined ? tf.onesLike(policyLogps).toBool() : tf.notEqual(args.mask, 0); // [N, K] bool
    const s0 = tf.mul(tf.sub(policyLogps, stopGradient(refLogps)), beta); //  [N, K]
    const s = tf.where(m, s0, tf.zerosLike(s0)); //                            [N, K] padding -> 0 (no NaN)
    const r = tf.cast(ranks, 'float32');
    const ri = tf.expandDims(r, 2); //                                         [N, K(i), 1]
    const rj = tf.expandDims(r, 1); //                                         [N, 1, K(j)]
    const mj = tf.expandDims(m, 1); //                                         [N, 1, K(j)]
    const inRisk = tf.logicalAnd(tf.greaterEqual(rj, ri), mj); //              [N, K, K] j not ranked above i
    const below = tf.logicalAnd(tf.greater(rj, ri), mj); //                    [N, K, K] j strictly worse than i
    const active = tf.logicalAnd(m, tf.any(below, 2)); //                      [N, K] i has someone below it
    const sj = tf.broadcastTo(tf.expandDims(s, 1), inRisk.shape as number[]); // [N, K, K]
    const lse = tf.logSumExp(tf.where(inRisk, sj, tf.fill(inRisk.shape as number[], -1e30)), 2); // [N, K]
    const terms = tf.where(active, tf.sub(s, lse), tf.zerosLike(s)); //       [N, K]
    const l = tf.neg(tf.sum(terms, 1)); //                                     [N]
    return [tf.mean(l), l, stopGradient(s)];
  });
  return { loss: loss as tf.Scalar, losses: losses as tf.Tensor1D, rewards: rewards as tf.Tensor2D };
}
