/**
 * The forward passes at rollout time (stage numbers of docs/guides/ppo.md): the old log-probs of stage 1
 * and the values of stage 5, of the sampled responses under the current policy and critic (computed on
 * exactly the rows and layout of the first epoch's minibatches, so the first update step sees ratio 1
 * and approx KL 0 exactly), and stage 2, the log-probs under the frozen reference.
 * @module
 */
import { tf } from '../tf';
import type { PaddedBatch } from '../models/batch';
import type { TransformerPolicy } from '../models/policy';
import { responseForward, type Critic } from './forward';
import { selectRows, type Rollout } from './rollout';

/** Rollout-time log-probs and values `[B * R]`. */
export interface RolloutEvaluation {
  /** Policy log-probs of the response tokens. */
  logProbs: Float32Array;
  /** Critic values. */
  values: Float32Array;
}

/** Runs `f` on each chunk's rows and scatters its `[n, R]` outputs into `outputs` (`[B * R]` each). */
async function forEachChunk(
  ro: Rollout,
  chunks: readonly number[][],
  f: (sub: PaddedBatch) => tf.Tensor2D[],
  outputs: Float32Array[],
): Promise<void> {
  const R = ro.responseLength;
  for (const rows of chunks) {
    const ts = tf.tidy(() => f(selectRows(ro.batch, rows)));
    const data = await Promise.all(ts.map((t) => t.data()));
    tf.dispose(ts);
    data.forEach((d, k) => rows.forEach((r, i) => (outputs[k] as Float32Array).set((d as Float32Array).subarray(i * R, (i + 1) * R), r * R)));
  }
}

/** Stages 1 and 5: old log-probs and values, computed chunk by chunk on `chunks` (the epoch-1 minibatches). */
export async function evaluateRollout(policy: TransformerPolicy, critic: Critic, ro: Rollout, chunks: readonly number[][], temperature: number): Promise<RolloutEvaluation> {
  const n = ro.batch.batch * ro.responseLength;
  const logProbs = new Float32Array(n);
  const values = new Float32Array(n);
  await forEachChunk(ro, chunks, (sub) => {
    const f = responseForward(policy, sub, ro.responseStart, ro.responseLength, temperature, { critic });
    return [f.logProbs, f.values as tf.Tensor2D];
  }, [logProbs, values]);
  return { logProbs, values };
}

/**
 * Log-probs of the responses under `policy`, chunk by chunk: stage 2 with the frozen reference, and
 * stage 1 when the values come from elsewhere (the critic worker).
 */
export async function referenceLogProbs(ref: TransformerPolicy, ro: Rollout, chunks: readonly number[][], temperature: number): Promise<Float32Array> {
  const out = new Float32Array(ro.batch.batch * ro.responseLength);
  await forEachChunk(ro, chunks, (sub) => [responseForward(ref, sub, ro.responseStart, ro.responseLength, temperature).logProbs], [out]);
  return out;
}
