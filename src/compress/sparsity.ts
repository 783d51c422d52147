/**
 * Keeping a pruned model sparse while it trains further: masks recorded per weight variable and
 * re-applied after every optimizer step ({@link applySparsityMasks}, called by `optimizerStep`), so PPO,
 * DPO, SFT and reward training of a pruned model keep its zeros. Also zero counting.
 * @module
 */
import { tf } from '../tf';
import { allMatrixNames, headVariable, transformerOf, type CompressibleModel } from './targets';

const masks = new WeakMap<tf.Variable, Uint8Array>();

/** What {@link keepSparsity} returns. */
export interface SparsityHandle {
  /** Weights held at zero. */
  zeros: number;
  /** Stops re-applying the masks (training may then fill the zeros in). */
  release(): void;
}

/** The variables compression touches: every block linear map, and the head when it exists. */
function maskedVariables(model: CompressibleModel): tf.Variable[] {
  const tr = transformerOf(model);
  const vars = allMatrixNames(tr.config).map((n) => tr.p(n));
  const head = headVariable(model);
  return head ? [...vars, head.variable] : vars;
}

/**
 * Records the current zeros of `model`'s block linear maps (and head) as masks: every later
 * `optimizerStep` over these variables (PPO, DPO, SFT, reward and LM trainers) sets them back to zero.
 * Call it on the pruned model before training it (`keepSparsity` of the compression guide).
 */
export function keepSparsity(model: CompressibleModel): SparsityHandle {
  const vars = maskedVariables(model);
  let zeros = 0;
  for (const v of vars) {
    const w = v.dataSync();
    const keep = new Uint8Array(w.length);
    for (let i = 0; i < w.length; i++) keep[i] = w[i] === 0 ? 0 : 1;
    zeros += w.length - keep.reduce((a, x) => a + x, 0);
    masks.set(v, keep);
  }
  return { zeros, release: () => vars.forEach((v) => masks.delete(v)) };
}

/** Re-applies the masks recorded by {@link keepSparsity} to those of `variables` that have one. */
export function applySparsityMasks(variables: readonly tf.Variable[]): void {
  for (const v of variables) {
    const keep = masks.get(v);
    if (keep !== undefined) tf.tidy(() => v.assign(tf.where(tf.tensor(keep, v.shape, 'bool'), v, tf.zerosLike(v)))); // +0, not -0
  }
}

/** Zero count of a model's compressible matrices. */
export interface ZeroCount {
  /** Entries exactly 0. */
  zeros: number;
  /** All entries of the matrices counted. */
  total: number;
}

/** Zero and total counts of `model`'s block linear maps (the weights compression touches). */
export function countZeros(model: CompressibleModel): ZeroCount {
  const tr = transformerOf(model);
  let zeros = 0;
  let total = 0;
  for (const n of allMatrixNames(tr.config)) {
    const w = tr.p(n).dataSync();
    total += w.length;
    for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  }
  return { zeros, total };
}
