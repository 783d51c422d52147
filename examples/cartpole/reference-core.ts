/**
 * CleanRL `ppo.py`'s GAE, advantage normalisation and PPO losses written out plainly (no masks, no
 * checks), for an A/B run against the library's core: `--core reference` in examples/cartpole.ts.
 * Same signatures as the parts of `gae`, `maskedWhiten`, `ppoPolicyLoss`, `ppoValueLoss` the example
 * uses.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RolloutArrays } from './fragments';

/** CleanRL's GAE loop over `[T, N]` arrays, with `nextnonterminal = 1 - done`. */
export function referenceAdvantages(ro: RolloutArrays, N: number, T: number, gamma: number, lam: number): { advantages: Float32Array; returns: Float32Array } {
  const advantages = new Float32Array(T * N);
  const returns = new Float32Array(T * N);
  for (let e = 0; e < N; e++) {
    let lastgaelam = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = t * N + e;
      const nextnonterminal = 1 - (ro.dones[i] as number);
      const nextvalues = t === T - 1 ? (ro.nextValues[e] as number) : (ro.values[i + N] as number);
      const delta = (ro.rewards[i] as number) + gamma * nextvalues * nextnonterminal - (ro.values[i] as number);
      lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam;
      advantages[i] = lastgaelam;
      returns[i] = lastgaelam + (ro.values[i] as number);
    }
  }
  return { advantages, returns };
}

/** `(a - a.mean()) / (a.std() + 1e-8)`, PyTorch's unbiased std. */
export function referenceNormalize(a: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const n = a.size;
    const mean = tf.mean(a);
    const std = tf.sqrt(tf.div(tf.sum(tf.square(tf.sub(a, mean))), n - 1));
    return tf.div(tf.sub(a, mean), tf.add(std, 1e-8));
  });
}

/** `max(-A * ratio, -A * clamp(ratio, 1 - c, 1 + c)).mean()`. */
export function referencePolicyLoss(logProbs: tf.Tensor, oldLogProbs: tf.Tensor, advantages: tf.Tensor, clip: number): tf.Scalar {
  const ratio = tf.exp(tf.sub(logProbs, oldLogProbs));
  const pg1 = tf.mul(tf.neg(advantages), ratio);
  const pg2 = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - clip, 1 + clip));
  return tf.mean(tf.maximum(pg1, pg2));
}

/** `0.5 * max((V - R)^2, (V_old + clamp(V - V_old, -c, c) - R)^2).mean()`. */
export function referenceValueLoss(values: tf.Tensor, oldValues: tf.Tensor, returns: tf.Tensor, clip: number): tf.Scalar {
  const unclipped = tf.square(tf.sub(values, returns));
  const vClipped = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clip, clip));
  const clipped = tf.square(tf.sub(vClipped, returns));
  return tf.mul(0.5, tf.mean(tf.maximum(unclipped, clipped)));
}
