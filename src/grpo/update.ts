/**
 * The critic-free policy update: `numIterations` passes over shuffled minibatches of one step's
 * samples, each the GRPO clipped loss (plus `beta` times the k3 KL) through the shared optimizer step.
 * Forward pass, row selection and minibatch plan are PPO's (`ppo/forward`, `ppo/rollout`, `ppo/update`).
 * @module
 */
import { tf } from '../tf';
import type { AdamW } from '../optim/adamw';
import type { TransformerPolicy } from '../models/policy';
import { responseForward } from '../ppo/forward';
import { selectFlat, selectRows, type Rollout } from '../ppo/rollout';
import { grpoLoss } from '../rl/grpo-loss';
import { maskedMean } from '../rl/masked';
import { optimizerStep, type OptimizerStepOptions, type StepLossFn } from '../train/step';
import type { DataParallel } from '../parallel/data-parallel';
import type { GroupShard } from '../parallel/tasks';
import { groupShards, mergeShardMetrics, type GroupTargets } from './shards';
import type { ResolvedGroupOptions } from './options';

export type { GroupTargets } from './shards';

/** Averages over the minibatches of one step. */
export interface GroupUpdateStats {
  /** Mean loss. */
  loss: number;
  /** Mean global gradient norm before clipping. */
  gradNorm: number;
  /** Mean k3 KL per token. */
  kl: number;
  /** Mean entropy per token (nats). */
  entropy: number;
  /** Mean fraction of tokens clipped (low or high). */
  clipRegion: number;
  /** Mean fraction clipped low. */
  clipLow: number;
  /** Smallest fraction clipped low. */
  clipLowMin: number;
  /** Mean fraction clipped high. */
  clipHigh: number;
  /** Largest fraction clipped high. */
  clipHighMax: number;
  /** Mean ratio of the very first minibatch (exactly 1 when sampling and update agree). */
  firstRatio: number;
}

/** Arguments of {@link groupUpdate}. */
export interface GroupUpdateArgs {
  /** The policy. */
  policy: TransformerPolicy;
  /** Its optimizer. */
  opt: AdamW;
  /** The rollout. */
  ro: Rollout;
  /** Old and reference log-probs, advantages. */
  targets: GroupTargets;
  /** Minibatches of every iteration. */
  plan: number[][][];
  /** The trainer's options. */
  o: ResolvedGroupOptions;
  /** Named in errors. */
  where: string;
  /** Replicas of the policy (`workers`); absent: in-process. */
  parallel?: DataParallel;
}

/** Runs the planned minibatch updates and returns averaged metrics. */
export async function groupUpdate(args: GroupUpdateArgs): Promise<GroupUpdateStats> {
  const { policy, ro, targets: t, plan, o } = args;
  const R = ro.responseLength;
  const all: Record<string, number>[] = [];
  for (const [e, epoch] of plan.entries()) {
    for (const rows of epoch) {
      const n = rows.length;
      let shards: GroupShard[] | undefined;
      const step = args.parallel ?? inProcess(args.opt);
      const r = await step.step(() => {
        const mask = tf.tensor2d(selectFlat(ro.responseMask, R, rows), [n, R]); //                       [n, R]
        const f = responseForward(policy, selectRows(ro.batch, rows), ro.responseStart, R, o.temperature, { entropy: true });
        const g = grpoLoss({
          logProbs: f.logProbs, oldLogProbs: tf.tensor2d(selectFlat(t.oldLogProbs, R, rows), [n, R]),
          ...(t.refLogProbs ? { refLogProbs: tf.tensor2d(selectFlat(t.refLogProbs, R, rows), [n, R]) } : {}),
          advantages: tf.tensor1d(rows.map((i) => t.advantages[i] as number)), mask,
          epsilon: o.epsilon, epsilonHigh: o.epsilonHigh, beta: o.beta, lossType: o.lossType, maxCompletionLength: o.maxNewTokens,
        });
        const entropy = maskedMean(f.entropy as tf.Tensor2D, mask) as tf.Scalar;
        return { loss: g.loss, metrics: { kl: g.kl, entropy, clipRegion: g.clipRatio, clipLow: g.clipRatioLow, clipHigh: g.clipRatioHigh, ratio: g.ratio } };
      }, (replicas) => (shards = groupShards(ro, rows, t, o, replicas)), {
        maxGradNorm: o.maxGradNorm, learningRate: o.learningRate, where: `${args.where} (iteration ${e + 1})`,
      });
      all.push({ loss: r.loss, gradNorm: r.gradNorm, ...mergeShardMetrics(r.metrics, shards) });
    }
  }
  const avg = (k: string) => all.reduce((a, m) => a + (m[k] as number), 0) / all.length;
  return {
    loss: avg('loss'), gradNorm: avg('gradNorm'), kl: avg('kl'), entropy: avg('entropy'),
    clipRegion: avg('clipRegion'), clipLow: avg('clipLow'), clipHigh: avg('clipHigh'),
    clipLowMin: Math.min(...all.map((m) => m.clipLow as number)), clipHighMax: Math.max(...all.map((m) => m.clipHigh as number)),
    firstRatio: all[0]?.ratio ?? NaN,
  };
}

/** The in-process step, with the replica pool's call shape. */
function inProcess(opt: AdamW): Pick<DataParallel, 'step'> {
  return { step: (lossFn: StepLossFn, _shards: unknown, so: OptimizerStepOptions) => optimizerStep(opt, lossFn, so) };
}
