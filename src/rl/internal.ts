/**
 * Helpers shared by the functional RL core: tensor argument checks, mask normalisation and a gradient
 * stop (number checks live in `ops/validate`). Not part of the public API.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { InputError } from '../errors';

/**
 * Throws {@link InputError} unless `x` is a tensor.
 * @param name - argument name used in the error.
 * @param x - the value to check.
 * @internal
 */
export function checkTensor(name: string, x: unknown): asserts x is tf.Tensor {
  // Duck-typed rather than `instanceof`, so tensors from a second copy of tfjs-core are accepted.
  const t = x as Partial<tf.Tensor> | null;
  if (t === null || typeof t !== 'object' || !Array.isArray(t.shape) || typeof t.dtype !== 'string') {
    throw new InputError(name, x === null ? null : typeof x, 'must be a tf.Tensor');
  }
  if (t.isDisposed === true) throw new InputError(name, t.shape, 'tensor is disposed');
}

/**
 * Throws {@link InputError} unless `x` and `ref` are tensors of exactly the same shape.
 * @param name - argument name of `x`.
 * @param x - the tensor to check.
 * @param refName - argument name of `ref`.
 * @param ref - the reference tensor.
 * @internal
 */
export function checkSameShape(name: string, x: unknown, refName: string, ref: tf.Tensor): asserts x is tf.Tensor {
  checkTensor(name, x);
  const same = x.rank === ref.rank && x.shape.every((d, i) => d === ref.shape[i]);
  if (!same) {
    throw new InputError(name, x.shape, `must have the shape of ${refName} [${ref.shape.join(', ')}]`);
  }
}

/**
 * Throws {@link InputError} unless `x` is a rank-2 (`[B, T]`) tensor.
 * @param name - argument name used in the error.
 * @param x - the value to check.
 * @internal
 */
export function checkRank2(name: string, x: unknown): asserts x is tf.Tensor2D {
  checkTensor(name, x);
  if (x.rank !== 2) throw new InputError(name, x.shape, 'must be a rank-2 tensor [B, T]');
}

/**
 * The mask as float32 0/1: every nonzero entry counts as a real token (1), zero as padding (0).
 * @param mask - the mask, any numeric or bool dtype.
 * @internal
 */
export function binaryMask(mask: tf.Tensor): tf.Tensor {
  return tf.cast(tf.notEqual(mask, tf.scalar(0, mask.dtype)), 'float32'); // same shape as mask
}

/**
 * `x` with padded entries replaced by exact zeros (NaN and infinite ones too). The gradient to the
 * padded entries is exactly 0, and nothing non-finite reaches later ops from them.
 * @param x - the values.
 * @param m - 0/1 float32 mask of `x`'s shape (from {@link binaryMask}).
 * @internal
 */
export function zeroPadding(x: tf.Tensor, m: tf.Tensor): tf.Tensor {
  return tf.where(tf.cast(m, 'bool'), x, tf.zerosLike(x)); // same shape as x
}

const identityNoGrad = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
  const t = x as tf.Tensor;
  return { value: t.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
});

/**
 * Identity in the forward pass, zero gradient in the backward pass (PyTorch `detach`, TF
 * `stop_gradient`): the result is a constant for `tf.grad` / `tf.variableGrads`.
 * @param x - the tensor; not disposed.
 * @internal
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return identityNoGrad(x) as T;
}
