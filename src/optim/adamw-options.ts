/**
 * The options and the exported state of {@link AdamW}, and their validation.
 * @module
 */
import type { tf } from '../tf';
import { InputError } from '../errors';
import { checkFunction, checkNumber, checkOneOf } from '../ops/validate';

/**
 * Where epsilon enters the update.
 *
 * - `'pytorch'`: `update = lr * m̂ / (sqrt(v̂) + eps)` with `m̂ = m / (1 - beta1^t)` and
 *   `v̂ = v / (1 - beta2^t)` (PyTorch `torch.optim.AdamW`, the Adam paper's Algorithm 1).
 * - `'tf1'`: `lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`, `update = lr_t * m / (sqrt(v) + eps)`
 *   (TensorFlow 1 `tf.train.AdamOptimizer`, the paper's "epsilon hat" form). Here eps is added to
 *   the uncorrected `sqrt(v)`, which is small early in training, so with the same eps the TF1 form
 *   gives smaller early updates; the two agree as `t` grows.
 */
export type EpsilonPlacement = 'pytorch' | 'tf1';

/** Options of `AdamW`. */
export interface AdamWOptions {
  /** Learning rate used when `AdamW.applyGradients` gets no override; finite, >= 0. Default `1e-3`. */
  learningRate?: number;
  /** Decay rate of the first-moment (mean) estimate, in [0, 1). Default `0.9`. */
  beta1?: number;
  /** Decay rate of the second-moment (uncentred variance) estimate, in [0, 1). Default `0.999`. */
  beta2?: number;
  /** Term added to the denominator for numerical stability; finite, > 0. Default `1e-8`. */
  epsilon?: number;
  /** Where epsilon enters the update; see {@link EpsilonPlacement}. Default `'pytorch'`. */
  epsilonPlacement?: EpsilonPlacement;
  /** Decoupled weight decay coefficient: each step `w -= lr * weightDecay * w`; finite, >= 0. Default `0`. */
  weightDecay?: number;
  /**
   * Which variables weight decay applies to, given each variable and its index in the list.
   * Default: variables of rank >= 2 (matrices, embeddings), so biases and norm gains are not decayed.
   */
  decayMask?: (v: tf.Variable, index: number) => boolean;
}

/** One tensor of an exported optimizer state: plain data, ready to be written to a checkpoint. */
export interface StateTensor {
  /** Element type; always `'float32'`. */
  dtype: 'float32';
  /** Shape of the tensor. */
  shape: number[];
  /** Row-major values; length is the product of `shape`. */
  data: Float32Array;
}

/**
 * The full state of an `AdamW`: the step count and, for variable `i`, the first moment under
 * key `m.{i}` and the second moment under key `v.{i}`.
 */
export interface AdamWState {
  /** Number of updates applied so far. */
  step: number;
  /** Moments keyed `m.{i}` and `v.{i}`, one pair per variable, in variable order. */
  tensors: Record<string, StateTensor>;
}

/** {@link AdamWOptions} with defaults filled in (the decay mask resolved separately). */
export type ResolvedAdamWOptions = Required<Omit<AdamWOptions, 'decayMask'>>;

const A = (name: string): string => `AdamWOptions.${name}`;

/** Validates {@link AdamWOptions} (throws `ConfigError` naming the option) and fills in defaults. */
export function resolveAdamWOptions(o: AdamWOptions): ResolvedAdamWOptions {
  if (o.decayMask !== undefined) checkFunction(A('decayMask'), o.decayMask, '(variable, index) => boolean');
  return {
    learningRate: checkNumber(A('learningRate'), o.learningRate ?? 1e-3, { ge: 0 }),
    beta1: checkNumber(A('beta1'), o.beta1 ?? 0.9, { ge: 0, lt: 1 }),
    beta2: checkNumber(A('beta2'), o.beta2 ?? 0.999, { ge: 0, lt: 1 }),
    epsilon: checkNumber(A('epsilon'), o.epsilon ?? 1e-8, { gt: 0 }),
    epsilonPlacement: checkOneOf(A('epsilonPlacement'), o.epsilonPlacement ?? 'pytorch', ['pytorch', 'tf1'] as const),
    weightDecay: checkNumber(A('weightDecay'), o.weightDecay ?? 0, { ge: 0 }),
  };
}

/** Checks one exported tensor against a variable's shape (throws `InputError` naming the key). */
export function checkStateTensor(key: string, st: StateTensor | undefined, shape: readonly number[]): void {
  const p = `state.tensors["${key}"]`;
  if (typeof st !== 'object' || st === null) throw new InputError(p, st, 'is missing');
  if (st.dtype !== 'float32') throw new InputError(`${p}.dtype`, st.dtype, "must be 'float32'");
  if (!Array.isArray(st.shape) || !sameShape(st.shape, shape)) {
    throw new InputError(`${p}.shape`, st.shape, `must equal the variable's shape [${shape.join(', ')}]`);
  }
  const size = shape.reduce((acc, d) => acc * d, 1);
  if (!(st.data instanceof Float32Array) || st.data.length !== size) {
    const got = st.data instanceof Float32Array ? st.data.length : typeof st.data;
    throw new InputError(`${p}.data`, got, `must be a Float32Array of length ${size}`);
  }
}

/** Whether two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
