/**
 * The one forward pass PPO uses everywhere (old log-probs, reference log-probs, the update): per-token
 * log-probs of the response under `softmax(logits / T)`, values, and entropy, at response columns
 * only. Computing rollout-time and update-time quantities with this same function on the same rows
 * is what makes the first minibatch's ratio exactly 1.
 * @module
 */
import { tf } from '../tf';
import { Rng } from '../ops/random';
import type { PaddedBatch } from '../models/batch';
import { gatherLogProbs, matmul2d } from '../models/layers';
import { dropLastColumn, type TransformerPolicy } from '../models/policy';
import type { RewardModel } from '../reward/reward-model';
import { entropyFromLogits } from '../rl/losses';

/** A zero-initialised value head `[1, d]` + `[1]` on the policy trunk (`valueModel: 'shared'`). */
export interface ValueHead {
  /** Weight `[1, d]`. */
  weight: tf.Variable;
  /** Bias `[1]`. */
  bias: tf.Variable;
}

/** A separate value model (trunk + head), e.g. a clone of the reward model. */
export interface SeparateCritic {
  /** Discriminant. */
  kind: 'separate';
  /** The value model; {@link RewardModel.tokenValues} gives the values. */
  model: RewardModel;
}

/** A value head on the policy's own hidden states. */
export interface SharedCritic {
  /** Discriminant. */
  kind: 'shared';
  /** The head. */
  head: ValueHead;
}

/** What produces values: a separate critic or a head on the policy's hidden states. */
export type Critic = SeparateCritic | SharedCritic;

/** Outputs at response columns, each `[B, R]`. */
export interface ResponseOutputs {
  /** Log-probs of the response tokens. */
  logProbs: tf.Tensor2D;
  /** Values `V_t` of the state before each response token (absent when not asked for). */
  values?: tf.Tensor2D;
  /** Entropy of the tempered next-token distribution (absent when not asked for). */
  entropy?: tf.Tensor2D;
}

/** Creates a zero value head for a trunk of width `d`. */
export function zeroValueHead(d: number): ValueHead {
  return tf.tidy(() => ({ weight: tf.variable(tf.zeros([1, d]), true), bias: tf.variable(tf.zeros([1]), true) })); // tidy frees the zeros
}

/** Hidden rows of the response's predecessor columns `[P-1, P-1+R)`: `[B*R, d]`. */
function responseRows(hidden: tf.Tensor2D, B: number, T: number, P: number, R: number): tf.Tensor2D {
  const d = hidden.shape[1];
  return tf.reshape(tf.slice(tf.reshape(hidden, [B, T, d]), [0, P - 1, 0], [B, R, d]), [B * R, d]) as tf.Tensor2D;
}

/** Response token ids `[B*R]` (pad positions hold whatever the batch holds). */
function responseTargets(batch: PaddedBatch, P: number, R: number): Int32Array {
  const T = batch.length;
  const out = new Int32Array(batch.batch * R);
  for (let b = 0; b < batch.batch; b++) out.set(batch.ids.subarray(b * T + P, b * T + P + R), b * R);
  return out;
}

/**
 * Log-probs (and optionally values and entropy) at response columns of `batch` (call inside a tidy).
 * Dropout is off: PPO runs every model in evaluation mode, so these log-probs equal the rollout's and the
 * first update sees a ratio of exactly 1 (see docs/guides/ppo.md, "Dropout is always off in PPO").
 */
export function responseForward(
  policy: TransformerPolicy,
  batch: PaddedBatch,
  P: number,
  R: number,
  temperature: number,
  want: { critic?: Critic; entropy?: boolean } = {},
): ResponseOutputs {
  const B = batch.batch;
  const inputs = dropLastColumn(batch); //                                  [B, T-1]
  const hidden = policy.hidden(inputs, { training: false, rng: new Rng(0) }); // [B*(T-1), d]
  const h = responseRows(hidden, B, inputs.length, P, R); //                  [B*R, d]
  const logits = policy.model.logits(h); //                                   [B*R, V]
  const lp = gatherLogProbs(logits, responseTargets(batch, P, R), temperature); // [B*R]
  const out: ResponseOutputs = { logProbs: tf.reshape(lp, [B, R]) };
  if (want.entropy) {
    const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
    out.entropy = tf.reshape(entropyFromLogits(scaled), [B, R]);
  }
  const c = want.critic;
  if (c?.kind === 'shared') {
    const v = tf.add(matmul2d(h, tf.transpose(c.head.weight)), c.head.bias); // [B*R, 1]
    out.values = tf.reshape(v, [B, R]);
  } else if (c?.kind === 'separate') {
    out.values = criticValues(c.model, batch, P, R);
  }
  return out;
}

/**
 * A separate critic's values `V_t` at response columns `[B, R]` (call inside a tidy): its head at the
 * column before each response token, on the same inputs as {@link responseForward} (which calls it,
 * as does the PPO critic worker, so both give the same values).
 */
export function criticValues(model: RewardModel, batch: PaddedBatch, P: number, R: number): tf.Tensor2D {
  const all = model.tokenValues(dropLastColumn(batch)); //                     [B, T-1]
  return tf.slice(all, [0, P - 1], [batch.batch, R]) as tf.Tensor2D; //         [B, R]
}

/** Trainable variables of a critic. */
export function criticVariables(c: Critic): tf.Variable[] {
  return c.kind === 'shared' ? [c.head.weight, c.head.bias] : c.model.trainableVariables;
}
