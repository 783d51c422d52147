/**
 * What compression touches: the four linear maps of every block (`attn.c_attn`, `attn.c_proj`,
 * `mlp.c_fc`, `mlp.c_proj`, Conv1D layout `[dIn, dOut]`); optionally the output head. Embeddings,
 * LayerNorms and biases always stay dense float32. Also: copying a policy or reward model with new weights,
 * and calibration batches.
 * @module
 */
import { tf } from '../tf';
import { ConfigError } from '../errors';
import { TransformerPolicy } from '../models/policy';
import { RewardModel } from '../reward/reward-model';
import type { Transformer } from '../models/transformer';
import type { PaddedBatch } from '../models/batch';
import type { ResolvedTransformerConfig } from '../models/config';
import { checkTokenIds } from '../ops/validate';

/** A model compression works on: a policy or a reward model (the trunk of both is a {@link Transformer}). */
export type CompressibleModel = TransformerPolicy | RewardModel;

/** The decoder of a policy or reward model. */
export function transformerOf(model: CompressibleModel): Transformer {
  if (model instanceof RewardModel) return model.trunk;
  if (model instanceof TransformerPolicy) return model.model;
  throw new ConfigError('model', Object.prototype.toString.call(model), 'must be a TransformerPolicy or a RewardModel');
}

/** Weight names of the linear maps of block `i`, in forward order. */
export function blockMatrixNames(i: number): string[] {
  return [`h.${i}.attn.c_attn.weight`, `h.${i}.attn.c_proj.weight`, `h.${i}.mlp.c_fc.weight`, `h.${i}.mlp.c_proj.weight`];
}

/** Weight names of every block's linear maps. */
export function allMatrixNames(c: ResolvedTransformerConfig): string[] {
  return Array.from({ length: c.nLayer }, (_, i) => blockMatrixNames(i)).flat();
}

/** The model's output head weight (`lm_head.weight` of an untied policy, `score.weight` of a reward model), if any. */
export function headVariable(model: CompressibleModel): { name: string; variable: tf.Variable } | undefined {
  if (model instanceof RewardModel) return { name: 'score.weight', variable: model.headWeight };
  const head = model.model.params.get('lm_head.weight');
  return head === undefined ? undefined : { name: 'lm_head.weight', variable: head };
}

/** A new model of the same class with the same config, weights (and reward normalisation). */
export function copyModel<M extends CompressibleModel>(model: M): M {
  transformerOf(model);
  return model.clone() as M;
}

/**
 * Calibration token sequences as right-padded batches of `batchSize` rows (mask 0 on padding).
 * @throws {@link ConfigError} for an empty set, an empty or too long sequence, or a bad token id.
 */
export function calibrationBatches(
  name: string, sequences: readonly (readonly number[])[] | undefined, c: ResolvedTransformerConfig, batchSize: number,
): PaddedBatch[] {
  if (!Array.isArray(sequences) || sequences.length === 0) throw new ConfigError(name, sequences, 'must be a non-empty array of token-id sequences');
  const rows = sequences.map((s, i) => {
    const ids = checkTokenIds(`${name}[${i}]`, s, c.vocabSize);
    if (ids.length < 1 || ids.length > c.contextLength) throw new ConfigError(`${name}[${i}].length`, ids.length, `must be in [1, ${c.contextLength}]`);
    return ids;
  });
  const out: PaddedBatch[] = [];
  for (let s = 0; s < rows.length; s += batchSize) {
    const group = rows.slice(s, s + batchSize);
    const T = Math.max(...group.map((r) => r.length));
    const ids = new Int32Array(group.length * T);
    const mask = new Int32Array(group.length * T);
    group.forEach((r, b) => {
      ids.set(r, b * T);
      mask.fill(1, b * T, b * T + r.length);
    });
    out.push({ ids, mask, batch: group.length, length: T });
  }
  return out;
}
