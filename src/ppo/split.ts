/**
 * PPO across two threads (`PPOTrainerOptions.workers`): the main thread runs the policy and the
 * reference, the critic worker (src/parallel/critic-worker) the separate critic and the reward model.
 * Their losses are separate (the policy loss does not touch the critic, the value loss does not touch
 * the policy), so each thread computes its own gradient; the only coupling, the global gradient norm
 * of the clip, costs one number per minibatch. Same result as in-process up to float summation order.
 * @module
 */
import { tf } from '../tf';
import { NonFiniteError, WorkerError } from '../errors';
import type { TransformerPolicy } from '../models/policy';
import type { RewardModel } from '../reward/reward-model';
import type { Tokenizer } from '../tokenizers/tokenizer';
import type { CriticWorker } from '../parallel/critic-client';
import { applySparsityMasks } from '../compress/sparsity';
import { sumOfSquares } from '../optim/clip';
import type { OptimizerStepResult } from '../train/step';
import { referenceLogProbs, type RolloutEvaluation } from './evaluate-rollout';
import { rewardModelResponses } from './score';
import { selectFlat, selectRows, type Rollout } from './rollout';
import { minibatchLoss, ppoUpdate, type MinibatchStep, type UpdateArgs, type UpdateStats } from './update';

/** Stages 1, 2, 5 and the reward model's raw scores of stage 3, the critic's half in the worker. */
export interface SplitEvaluation {
  /** Old log-probs and values. */
  old: RolloutEvaluation;
  /** Reference log-probs. */
  refLogProbs: Float32Array;
  /** The reward model's raw scores (`null` when the reward is scored on the main thread). */
  rawScores: number[] | null;
}

/**
 * Old log-probs and reference log-probs here, values (and, with `reward`, the reward model's scores)
 * in the worker at the same time, on the epoch-1 minibatches `chunks`.
 */
export async function evaluateSplit(
  worker: CriticWorker, policy: TransformerPolicy, ref: TransformerPolicy, ro: Rollout, chunks: readonly number[][], temperature: number,
  reward: { model: RewardModel; tokenizer: Tokenizer } | undefined,
): Promise<SplitEvaluation> {
  const R = ro.responseLength;
  const score = reward && { promptIds: ro.promptIds.map((p) => [...p]), responseIds: rewardModelResponses(reward.model, ro, reward.tokenizer) };
  const pending = worker.evaluate({ chunks: chunks.map((rows) => selectRows(ro.batch, rows)), P: ro.responseStart, R, ...(score && { score }) });
  pending.catch(() => undefined); // awaited below; a failure while this thread computes must not go unhandled
  const logProbs = await referenceLogProbs(policy, ro, chunks, temperature);
  const refLogProbs = await referenceLogProbs(ref, ro, chunks, temperature);
  const r = await pending;
  const values = new Float32Array(ro.batch.batch * R);
  chunks.forEach((rows, k) => rows.forEach((row, i) => values.set((r.values[k] as Float32Array).subarray(i * R, (i + 1) * R), row * R)));
  return { old: { logProbs, values }, refLogProbs, rawScores: r.scores };
}

/** One minibatch split between the threads (see the module notes). */
function splitStep(args: UpdateArgs, worker: CriticWorker, first: number): MinibatchStep {
  const { policy, ro, targets: t, o, opt } = args;
  const R = ro.responseLength;
  const policyVars = opt.variables.slice(0, first) as tf.Variable[];
  return async (rows, ptx, where): Promise<OptimizerStepResult> => {
    const pick = (x: Float32Array) => selectFlat(x, R, rows);
    const { gen, reply } = await worker.grad({
      batch: selectRows(ro.batch, rows), P: ro.responseStart, R, mask: pick(ro.responseMask), oldValues: pick(t.oldValues),
      returns: pick(t.returns), clipRangeValue: o.clipRangeValue, vfCoef: o.vfCoef,
    });
    let metrics: Record<string, tf.Tensor> = {};
    const out = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const r = minibatchLoss(policy, undefined, ro, rows, t, o, ptx);
        metrics = r.metrics;
        for (const m of Object.values(metrics)) tf.keep(m);
        return r.loss;
      }, policyVars);
      const ordered = policyVars.map((v) => grads[v.name] ?? tf.zerosLike(v));
      return { value, grads: ordered, sq: sumOfSquares(ordered) };
    });
    try {
      const names = Object.keys(metrics);
      const read = await Promise.all([out.value.data(), out.sq.data(), ...names.map((n) => (metrics[n] as tf.Tensor).data())]);
      const c = await reply;
      const loss = (read[0]?.[0] as number) + o.vfCoef * c.valueLoss;
      const gradNorm = Math.sqrt((read[1]?.[0] as number) + c.sumSquares);
      const bad = !Number.isFinite(loss) ? new NonFiniteError('loss', loss, where) : !Number.isFinite(gradNorm) ? new NonFiniteError('gradient norm', gradNorm, where) : undefined;
      const scale = Number.isFinite(o.maxGradNorm) ? Math.fround(Math.min(1, o.maxGradNorm / (gradNorm + 1e-6))) : 1;
      worker.decide(gen, bad === undefined, scale, o.learningRate);
      if (bad !== undefined) throw bad;
      opt.applyGradientsToRange(0, out.grads, o.learningRate, scale);
      applySparsityMasks(policyVars);
      const values: Record<string, number[]> = {};
      names.forEach((n, i) => { values[n] = Array.from(read[i + 2] ?? []); });
      values.vfLoss = [c.valueLoss];
      values.vfClip = [c.valueClipFrac];
      return { loss, gradNorm, metrics: values };
    } finally {
      tf.dispose([out.value, out.sq, ...out.grads, ...Object.values(metrics)]);
    }
  };
}

/**
 * Stage 7 split between the threads. The critic's weights and moments come back from the worker at
 * the end (and when a minibatch's loss is not finite: the earlier minibatches stand, as in-process). If
 * the worker fails, the policy and the optimizer are put back as they were before this update (the
 * critic on the main thread never changed), so a failed step leaves no partial update; then it throws.
 */
export async function ppoUpdateSplit(args: UpdateArgs, worker: CriticWorker, first: number): Promise<UpdateStats> {
  const vars = args.opt.variables.slice(0, first) as tf.Variable[];
  const snapshot = { weights: vars.map((v) => tf.clone(v)), state: args.opt.exportState(0, first) };
  try {
    const stats = await ppoUpdate(args, splitStep(args, worker, first));
    await worker.pull();
    return stats;
  } catch (e) {
    let restore = e instanceof WorkerError;
    if (!restore) await worker.pull().catch(() => { restore = true; });
    if (restore) {
      vars.forEach((v, i) => v.assign(snapshot.weights[i] as tf.Tensor));
      args.opt.importState(snapshot.state, 0, first);
    }
    throw e;
  } finally {
    tf.dispose(snapshot.weights);
  }
}
