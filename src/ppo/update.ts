/**
 * PPO stage 7 (numbered as in docs/guides/ppo.md), the update: `ppoEpochs` passes over shuffled
 * minibatches of the rollout, each a clipped policy loss plus `vfCoef` times the clipped value loss
 * (none without a critic; plus `ptxCoef` times the pretraining loss for PPO-ptx), one AdamW over policy
 * and critic with the global gradient norm clipped.
 * @module
 */
import { tf } from '../tf';
import type { Logger } from '../logging/logger';
import type { Rng } from '../ops/random';
import type { AdamW } from '../optim/adamw';
import type { TransformerPolicy } from '../models/policy';
import { ppoPolicyLoss, ppoValueLoss } from '../rl/losses';
import { maskedMean } from '../rl/masked';
import { optimizerStep, type OptimizerStepResult } from '../train/step';
import { responseForward, type Critic } from './forward';
import type { ResolvedPPOOptions } from './options';
import { selectFlat, selectRows, type Rollout } from './rollout';

/** Rollout-time quantities the update needs, `[B * R]`. */
export interface UpdateTargets {
  /** Log-probs at rollout time (computed on the epoch-1 minibatches). */
  oldLogProbs: Float32Array;
  /** Values at rollout time. */
  oldValues: Float32Array;
  /** Whitened advantages. */
  advantages: Float32Array;
  /** Value targets. */
  returns: Float32Array;
}

/** Per-minibatch metrics, averaged by {@link ppoUpdate}. */
export interface UpdateStats {
  'policy/approxkl_avg': number;
  'policy/clipfrac_avg': number;
  'policy/entropy_avg': number;
  'loss/policy_avg': number;
  'loss/value_avg': number;
  'val/clipfrac_avg': number;
  'val/ratio': number;
  'loss/ptx_avg': number;
  /** Approx KL of the very first minibatch (exactly 0 when rollout and update agree). */
  firstApproxKl: number;
}

/** The settings {@link ppoUpdate} reads (a subset of the PPO options, so other trainers can pass their own). */
export type UpdateOptions = Pick<ResolvedPPOOptions,
  'temperature' | 'clipRange' | 'clipRangeValue' | 'vfCoef' | 'ptxCoef' | 'ptxBatchSize' | 'maxGradNorm' | 'learningRate' | 'ratioWarningThreshold'>;

/**
 * The minibatch row lists of every epoch: `o.ppoEpochs` independent shuffles of rows `0..batch-1`, each
 * cut into minibatches of `o.miniBatchSize` (the last one smaller when it does not divide `batch`).
 * Epoch 0's minibatches are also used to compute the old log-probs. Draws `o.ppoEpochs` shuffles from `rng`.
 */
export function minibatchPlan(batch: number, o: Pick<ResolvedPPOOptions, 'ppoEpochs' | 'miniBatchSize'>, rng: Rng): number[][][] {
  const plan: number[][][] = [];
  for (let e = 0; e < o.ppoEpochs; e++) {
    const order = rng.shuffle(Array.from({ length: batch }, (_, i) => i));
    const mbs: number[][] = [];
    for (let i = 0; i < batch; i += o.miniBatchSize) mbs.push(order.slice(i, i + o.miniBatchSize));
    plan.push(mbs);
  }
  return plan;
}

/** A PPO-ptx batch of random windows from the pretraining stream, or undefined. */
export function ptxBatch(o: UpdateOptions, data: ArrayLike<number> | undefined, ctx: number, rng: Rng) {
  if (o.ptxCoef === 0 || data === undefined) return undefined;
  const L = Math.min(ctx, data.length);
  const B = o.ptxBatchSize;
  const ids = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const s = rng.int(data.length - L + 1);
    for (let t = 0; t < L; t++) ids[b * L + t] = data[s + t] as number;
  }
  return { ids, mask: new Int32Array(B * L).fill(1), batch: B, length: L };
}

/** Minibatch loss and metric tensors (inside the optimizer's tape); without a critic, no value loss. */
export function minibatchLoss(policy: TransformerPolicy, critic: Critic | undefined, ro: Rollout, rows: number[], t: UpdateTargets, o: UpdateOptions, ptx: ReturnType<typeof ptxBatch>) {
  const P = ro.responseStart;
  const R = ro.responseLength;
  const n = rows.length;
  const sub = selectRows(ro.batch, rows);
  const mask = tf.tensor2d(selectFlat(ro.responseMask, R, rows), [n, R]); //                           [n, R]
  const f = responseForward(policy, sub, P, R, o.temperature, { ...(critic ? { critic } : {}), entropy: true });
  const pg = ppoPolicyLoss({
    logProbs: f.logProbs, oldLogProbs: tf.tensor2d(selectFlat(t.oldLogProbs, R, rows), [n, R]),
    advantages: tf.tensor2d(selectFlat(t.advantages, R, rows), [n, R]), mask, clipRange: o.clipRange,
  });
  const vf = critic === undefined ? { loss: tf.scalar(0), clipFrac: tf.scalar(0) } : ppoValueLoss({
    values: f.values as tf.Tensor2D, oldValues: tf.tensor2d(selectFlat(t.oldValues, R, rows), [n, R]),
    returns: tf.tensor2d(selectFlat(t.returns, R, rows), [n, R]), mask, clipRangeValue: o.clipRangeValue,
  });
  let loss = critic === undefined ? pg.loss : tf.add(pg.loss, tf.mul(vf.loss, o.vfCoef)) as tf.Scalar;
  let ptxLoss = tf.scalar(0);
  if (ptx !== undefined) {
    ptxLoss = tf.neg(tf.mean(policy.tokenLogProbs(ptx, { from: 1 }))) as tf.Scalar;
    loss = tf.add(loss, tf.mul(ptxLoss, o.ptxCoef)) as tf.Scalar;
  }
  const entropy = maskedMean(f.entropy as tf.Tensor2D, mask) as tf.Scalar;
  return { loss, metrics: { approxKl: pg.approxKl, clipFrac: pg.clipFrac, ratio: pg.ratio, pgLoss: pg.loss, vfLoss: vf.loss, vfClip: vf.clipFrac, entropy, ptx: ptxLoss } };
}

/** Arguments of {@link ppoUpdate}. */
export interface UpdateArgs {
  /** The policy to update. */
  policy: TransformerPolicy;
  /** The critic; without one there is no value loss (`targets.oldValues` and `returns` are then ignored). */
  critic?: Critic;
  /** One optimizer over the policy's (and the critic's) variables. */
  opt: AdamW;
  /** The rollout. */
  ro: Rollout;
  /** Old log-probs, values, advantages and returns. */
  targets: UpdateTargets;
  /** Minibatches of every epoch, from {@link minibatchPlan}. */
  plan: number[][][];
  /** Loss and optimizer settings. */
  o: UpdateOptions;
  /** Random stream for PPO-ptx windows. */
  rng: Rng;
  /** PPO-ptx token stream, or undefined. */
  ptxData: ArrayLike<number> | undefined;
  /** Gets the ratio blow-up warnings. */
  logger: Logger;
  /** The trainer's step, for errors and warnings. */
  step: number;
  /** The trainer's name, for errors. Default `'PPOTrainer'`. */
  trainer?: string;
}

/**
 * One minibatch's loss, gradient and update: in-process by default (one {@link optimizerStep} over
 * policy and critic), or split between threads (./split).
 */
export type MinibatchStep = (rows: number[], ptx: ReturnType<typeof ptxBatch>, where: string) => Promise<OptimizerStepResult>;

/** Stage 7: runs the planned minibatch updates (each through `step`, default in-process) and returns averaged metrics. */
export async function ppoUpdate(args: UpdateArgs, step?: MinibatchStep): Promise<UpdateStats> {
  const { policy, critic, opt, ro, targets, plan, o } = args;
  const run: MinibatchStep = step ?? ((rows, ptx, where) => optimizerStep(opt, () => minibatchLoss(policy, critic, ro, rows, targets, o, ptx), {
    maxGradNorm: o.maxGradNorm, learningRate: o.learningRate, where,
  }));
  const sums: Record<string, number> = {};
  let count = 0;
  let firstApproxKl: number | undefined;
  for (const [e, epoch] of plan.entries()) {
    for (const rows of epoch) {
      const ptx = ptxBatch(o, args.ptxData, policy.config.contextLength, args.rng);
      const r = await run(rows, ptx, `${args.trainer ?? 'PPOTrainer'} step ${args.step} (epoch ${e + 1})`);
      const m: Record<string, number> = {};
      for (const [k, v] of Object.entries(r.metrics)) m[k] = v[0] as number;
      m.loss = r.loss;
      firstApproxKl ??= m.approxKl;
      for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + v;
      count++;
      const ratio = m.ratio as number;
      if (!(ratio < o.ratioWarningThreshold && ratio > 1 / o.ratioWarningThreshold)) {
        args.logger.log('warn', `PPO ratio blow-up: mean ratio ${ratio.toFixed(3)} in epoch ${e + 1}; lower learningRate or ppoEpochs`, { step: args.step, ratio });
      }
    }
  }
  const avg = (k: string) => (sums[k] ?? 0) / count;
  return {
    'policy/approxkl_avg': avg('approxKl'), 'policy/clipfrac_avg': avg('clipFrac'), 'policy/entropy_avg': avg('entropy'),
    'loss/policy_avg': avg('pgLoss'), 'loss/value_avg': avg('vfLoss'), 'val/clipfrac_avg': avg('vfClip'),
    'val/ratio': avg('ratio'), 'loss/ptx_avg': avg('ptx'),
    firstApproxKl: firstApproxKl ?? NaN,
  };
}
