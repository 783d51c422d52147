/**
 * Generalized Advantage Estimation (Schulman et al. 2016) over padded `[B, T]` batches, as pure
 * tensor ops (a reverse scan over the T columns), so it runs on every backend without reading data.
 * @module
 */
import { tf } from '../tf';
import type { ConfigError, InputError } from '../errors';
import type { perTokenRewards } from './rewards';
import { checkNumber } from '../ops/validate';
import { binaryMask, checkRank2, checkSameShape } from './internal';

/** Options of {@link gae}. */
export interface GaeOptions {
  /** Discount factor, in [0, 1]. Default `1` (the RLHF recipe). */
  gamma?: number;
  /** GAE lambda, in [0, 1]. Default `0.95`. */
  lam?: number;
}

/** Result of {@link gae}: two new `[B, T]` float32 tensors owned by the caller. */
export interface GaeResult {
  /** Advantages `A_t`; exactly 0 on padded positions. */
  advantages: tf.Tensor2D;
  /** Returns `R_t = A_t + V_t` (the value targets); exactly 0 on padded positions. */
  returns: tf.Tensor2D;
}

/**
 * Generalized Advantage Estimation over a padded batch.
 *
 * For each row, over its real positions only (mask nonzero), from the last to the first:
 * `delta_t = r_t + gamma * V_next - V_t`, `A_t = delta_t + gamma * lam * A_next`,
 * `R_t = A_t + V_t`, where `next` is **the next real position of the same row** (the nearest
 * later position whose mask is nonzero), and `V_next = A_next = 0` when there is none: the value
 * after the last real step is 0 (an episode/response that ended). Padded positions are skipped as
 * if absent, so right padding, left padding and padding in the middle all give the same result as
 * the row with its padding removed; their rewards and values are ignored (may be anything finite or
 * not), and their advantage and return are exactly 0. A row with no real position is all zeros.
 *
 * For right-padded batches this equals TRL / OpenAI `lm-human-preferences` GAE (which zero the
 * values and rewards of padding).
 *
 * @param rewards - per-step rewards `[B, T]` float32 (e.g. from {@link perTokenRewards}).
 * @param values - value estimates `V_t` `[B, T]` float32 from the rollout.
 * @param mask - `[B, T]`; nonzero = real step, 0 = padding.
 * @param options - `gamma` (default 1) and `lam` (default 0.95).
 * @returns new `advantages` and `returns` tensors `[B, T]`; no gradient is needed (and none should
 *   be taken) through them.
 * @throws {@link InputError} if a tensor is not rank 2 or the shapes differ.
 * @throws {@link ConfigError} if `gamma` or `lam` is not a number in [0, 1].
 */
export function gae(rewards: tf.Tensor, values: tf.Tensor, mask: tf.Tensor, options: GaeOptions = {}): GaeResult {
  const gamma = checkNumber('GaeOptions.gamma', options.gamma ?? 1, { ge: 0, le: 1 });
  const lam = checkNumber('GaeOptions.lam', options.lam ?? 0.95, { ge: 0, le: 1 });
  checkRank2('rewards', rewards);
  checkSameShape('values', values, 'rewards', rewards);
  checkSameShape('mask', mask, 'rewards', rewards);
  const [advantages, returns] = tf.tidy(() => scan(rewards, values, mask, gamma, lam));
  return { advantages, returns };
}

/** The reverse scan; returns `[advantages, returns]`, both `[B, T]`. */
function scan(
  rewards: tf.Tensor, values: tf.Tensor, mask: tf.Tensor, gamma: number, lam: number,
): [tf.Tensor2D, tf.Tensor2D] {
  const [B, T] = rewards.shape as [number, number];
  if (T === 0) return [tf.zeros([B, 0]), tf.zeros([B, 0])];
  const real = tf.cast(binaryMask(mask), 'bool'); // [B, T]
  const zero = tf.zeros([B]); // [B]
  const rCols = tf.unstack(tf.where(real, tf.cast(rewards, 'float32'), tf.zeros([B, T])), 1); // T x [B]
  const vCols = tf.unstack(tf.where(real, tf.cast(values, 'float32'), tf.zeros([B, T])), 1); // T x [B]
  const mCols = tf.unstack(real, 1); // T x [B] bool
  const gammaT = tf.scalar(gamma);
  const gammaLamT = tf.scalar(gamma * lam);
  let nextValue: tf.Tensor = zero; // [B] value of the next real step (0 after the last)
  let nextAdv: tf.Tensor = zero; // [B] advantage of the next real step
  const advCols: tf.Tensor[] = new Array<tf.Tensor>(T);
  for (let t = T - 1; t >= 0; t--) {
    const r = rCols[t] as tf.Tensor; // [B]
    const v = vCols[t] as tf.Tensor; // [B]
    const m = mCols[t] as tf.Tensor; // [B]
    const delta = tf.sub(tf.add(r, tf.mul(gammaT, nextValue)), v); // [B]
    const adv = tf.add(delta, tf.mul(gammaLamT, nextAdv)); // [B]
    advCols[t] = tf.where(m, adv, zero); // [B]
    nextValue = tf.where(m, v, nextValue); // [B]
    nextAdv = tf.where(m, adv, nextAdv); // [B]
  }
  const advantages = tf.stack(advCols, 1) as tf.Tensor2D; // [B, T]
  const valuesReal = tf.stack(vCols, 1); // [B, T], 0 on padding
  const returns = tf.where(real, tf.add(advantages, valuesReal), tf.zeros([B, T])) as tf.Tensor2D; // [B, T]
  return [advantages, returns];
}
