/**
 * The work of one replica in a data-parallel step, as plain data that crosses to a worker thread, and
 * the loss each kind computes. A shard's loss is its share of the whole batch's loss (its sum divided
 * by the whole batch's normaliser), so the shards' gradients add up to the full batch's gradient.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { Rng } from '../ops/random';
import type { PaddedBatch } from '../models/batch';
import type { TransformerPolicy } from '../models/policy';
import type { RewardModel } from '../reward/reward-model';
import { pairwiseLoss } from '../reward/pairwise';
import { batchRows, dpoBatchLoss, sequenceLogps } from '../dpo/forward';
import type { EncodedPreference } from '../dpo/data';
import type { ResolvedDPOOptions } from '../dpo/options';
import { responseForward } from '../ppo/forward';
import { grpoLoss, type GrpoLossType } from '../rl/grpo-loss';
import { maskedMean } from '../rl/masked';

/** Next-token loss over every token of the shard's rows (the `LMTrainer`'s loss). */
export interface LMShard {
  /** Discriminator. */
  kind: 'lm';
  /** The shard's rows. */
  batch: PaddedBatch;
  /** `1 / (tokens scored in the whole batch)`. */
  scale: number;
  /** Seed of the shard's dropout stream; `null` without dropout. */
  dropoutSeed: number | null;
}

/** Next-token loss on the target tokens of the shard's rows (the `SFTTrainer`'s loss). */
export interface SFTShard {
  /** Discriminator. */
  kind: 'sft';
  /** The shard's rows. */
  batch: PaddedBatch;
  /** `[rows * (length - 1)]`, 1 on targets (aligned with `tokenLogProbs(batch, { from: 1 })`). */
  lossMask: Float32Array;
  /** `1 / (targets in the whole batch)`. */
  scale: number;
  /** Seed of the shard's dropout stream; `null` without dropout. */
  dropoutSeed: number | null;
}

/**
 * Pairwise reward-model loss on the shard's prompt groups (the `RewardTrainer`'s loss):
 * `sum_p weight_p * softplus(-(r_w - r_l - margin)) + centerCoef * sum_p weight_p * (r_w + r_l)^2`,
 * with `weight_p = 1 / (pairs of its prompt * prompts in the whole batch)`.
 */
export interface RewardShard {
  /** Discriminator. */
  kind: 'reward';
  /** Prompt + response rows of the shard's groups. */
  batch: PaddedBatch;
  /** `[pairs, rows]`: +1 at the chosen row, -1 at the rejected row of each pair. */
  diff: Float32Array;
  /** `[pairs, rows]`: 1 at both rows of each pair. */
  sum: Float32Array;
  /** `[pairs]` weight of each pair in the whole batch's loss. */
  weight: Float32Array;
  /** Pairs in the shard. */
  pairs: number;
  /** Margin of the pairwise loss. */
  margin: number;
  /** Weight of the centering term (0 = off). */
  centerCoef: number;
  /** Seed of the shard's dropout stream; `null` without dropout. */
  dropoutSeed: number | null;
}

/**
 * DPO loss on the shard's preference records (the `DPOTrainer`'s loss): its rows' summed log-probs
 * against the reference's, each pair weighted `1 / (pairs of its record * records in the whole batch)`
 * (plain DPO), or the mean Plackett-Luce loss times `records in the shard / records in the batch`.
 */
export interface DPOShard {
  /** Discriminator. */
  kind: 'dpo';
  /** The shard's records (prompt, responses, ranks, pairs). */
  records: EncodedPreference[];
  /** `[N]` reference log-probs of the shard's rows, in row order. */
  ref: Float32Array;
  /** Pad id of the batch. */
  padId: number;
  /** `records in the shard / records in the whole batch`. */
  scale: number;
  /** The loss settings. */
  options: Pick<ResolvedDPOOptions, 'beta' | 'lossType' | 'labelSmoothing' | 'rankings'>;
  /** DPO runs without dropout. */
  dropoutSeed: null;
}

/**
 * GRPO/RLOO's clipped loss on the shard's completions (`GRPOTrainer`, `RLOOTrainer`), scaled by the
 * shard's share of the aggregation: rows for `'grpo'` and `'dr_grpo'`, real tokens for `'dapo'`/`'bnpo'`.
 */
export interface GroupShard {
  /** Discriminator. */
  kind: 'group';
  /** The shard's rows `[n, P + R]`. */
  batch: PaddedBatch;
  /** First response column. */
  P: number;
  /** Response columns. */
  R: number;
  /** `[n * R]` response mask. */
  mask: Float32Array;
  /** `[n * R]` log-probs at sampling time. */
  oldLogProbs: Float32Array;
  /** `[n * R]` reference log-probs (absent without a KL term). */
  refLogProbs?: Float32Array;
  /** `[n]` one advantage per completion. */
  advantages: Float32Array;
  /** The shard's share of the minibatch's loss. */
  scale: number;
  /** The loss settings. */
  options: { temperature: number; epsilon: number; epsilonHigh: number; beta: number; lossType: GrpoLossType; maxNewTokens: number };
  /** These trainers run without dropout. */
  dropoutSeed: null;
}

/** One replica's part of a step. */
export type ShardTask = LMShard | SFTShard | RewardShard | DPOShard | GroupShard;

/** The model a replica trains: a policy (LM, SFT) or a reward model. */
export type ReplicaModel = { kind: 'policy'; policy: TransformerPolicy } | { kind: 'reward'; model: RewardModel };

/** A shard's loss and the per-row metric tensors it reports (reward: `d = r_w - r_l`, `s = r_w + r_l`). */
export interface ShardLoss {
  /** The shard's share of the batch loss. */
  loss: tf.Scalar;
  /** Metric tensors (no gradient), concatenated over shards in replica order. */
  metrics: Record<string, tf.Tensor>;
}

/** Rows `[start, end)` of a padded batch. */
export function sliceRows(batch: PaddedBatch, start: number, end: number): PaddedBatch {
  const T = batch.length;
  return {
    ids: batch.ids.slice(start * T, end * T),
    mask: batch.mask.slice(start * T, end * T),
    batch: end - start,
    length: T,
  };
}

/** Rows of the shard's task (0 for an empty shard). */
export function shardRows(task: ShardTask): number {
  return task.kind === 'dpo' ? task.records.length : task.batch.batch;
}

/** The GRPO loss of a {@link GroupShard} and its token-mean metrics over the shard (call inside `tf.tidy`). */
function groupShardLoss(policy: TransformerPolicy, t: GroupShard): ShardLoss {
  const n = t.batch.batch;
  const o = t.options;
  const mask = tf.tensor2d(t.mask, [n, t.R]); //                                                   [n, R]
  const f = responseForward(policy, t.batch, t.P, t.R, o.temperature, { entropy: true });
  const g = grpoLoss({
    logProbs: f.logProbs, oldLogProbs: tf.tensor2d(t.oldLogProbs, [n, t.R]),
    ...(t.refLogProbs ? { refLogProbs: tf.tensor2d(t.refLogProbs, [n, t.R]) } : {}),
    advantages: tf.tensor1d(t.advantages), mask,
    epsilon: o.epsilon, epsilonHigh: o.epsilonHigh, beta: o.beta, lossType: o.lossType, maxCompletionLength: o.maxNewTokens,
  });
  const entropy = maskedMean(f.entropy as tf.Tensor2D, mask);
  return {
    loss: tf.mul(g.loss, t.scale) as tf.Scalar,
    metrics: { kl: g.kl, entropy, clipRegion: g.clipRatio, clipLow: g.clipRatioLow, clipHigh: g.clipRatioHigh, ratio: g.ratio },
  };
}

/** The DPO loss of a {@link DPOShard} and its per-pair metrics (call inside `tf.tidy`). */
function dpoShardLoss(policy: TransformerPolicy, t: DPOShard): ShardLoss {
  const { prompts, responses, offsets } = batchRows(t.records);
  const r = dpoBatchLoss(sequenceLogps(policy, prompts, responses, t.padId), t.ref, t.records, offsets, t.options);
  return { loss: tf.mul(r.loss, t.scale) as tf.Scalar, metrics: r.metrics };
}

/** The reward-model loss of a {@link RewardShard} and its `d`, `s` per pair (call inside `tf.tidy`). */
export function rewardShardLoss(model: RewardModel, t: RewardShard, rng: Rng | undefined, training: boolean): ShardLoss {
  const N = t.batch.batch;
  const scores = model.rawScores(t.batch, { training, rng }); //                                  [N]
  const col = tf.reshape(scores, [N, 1]);
  const d = tf.reshape(tf.matMul(tf.tensor2d(t.diff, [t.pairs, N]), col), [t.pairs]) as tf.Tensor1D; // [P] r_w - r_l
  const s = tf.reshape(tf.matMul(tf.tensor2d(t.sum, [t.pairs, N]), col), [t.pairs]) as tf.Tensor1D; //  [P] r_w + r_l
  const w = tf.tensor1d(t.weight);
  const bt = pairwiseLoss(d, tf.zerosLike(d) as tf.Tensor1D, t.margin); //                              [P]
  let loss = tf.sum(tf.mul(bt, w)) as tf.Scalar;
  if (t.centerCoef > 0) loss = tf.add(loss, tf.mul(t.centerCoef, tf.sum(tf.mul(tf.square(s), w)))) as tf.Scalar;
  return { loss, metrics: { d, s } };
}

/**
 * The shard's share of the batch loss (call inside `tf.tidy`). An empty shard has no rows and is
 * never passed here.
 */
export function shardLoss(model: ReplicaModel, task: ShardTask): ShardLoss {
  const rng = task.dropoutSeed === null ? undefined : new Rng(task.dropoutSeed);
  if (task.kind === 'reward') {
    if (model.kind !== 'reward') throw new Error('internal: a reward shard needs a reward-model replica');
    return rewardShardLoss(model.model, task, rng, true);
  }
  if (model.kind !== 'policy') throw new Error(`internal: an ${task.kind} shard needs a policy replica`);
  if (task.kind === 'dpo') return dpoShardLoss(model.policy, task);
  if (task.kind === 'group') return groupShardLoss(model.policy, task);
  const lp = model.policy.tokenLogProbs(task.batch, { from: 1, training: true, rng }); // [b, T-1]
  if (task.kind === 'lm') return { loss: tf.mul(tf.neg(tf.sum(lp)), task.scale) as tf.Scalar, metrics: {} };
  const { batch: B, length: T } = task.batch;
  const mask = tf.tensor2d(task.lossMask, [B, T - 1], 'float32'); //                  [b, T-1]
  return { loss: tf.mul(tf.neg(tf.sum(tf.mul(lp, mask))), task.scale) as tf.Scalar, metrics: {} };
}
