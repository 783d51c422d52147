/**
 * `quantize(model, options)`: a new model (same class) whose block linear maps are stored as int8 with a
 * float32 scale per output channel (symmetric absmax). tfjs-core has no int8 matmul (and no int8 tensor
 * dtype), so the model computes with the dequantized float32 weights `q · s`, materialised once here; the
 * int8 form is what `TransformerPolicy.save` / `toSafetensors` write (safetensors `I8`, ~4x smaller)
 * and what `load` / `fromSafetensors` read back to the same float32 values. The gain is bytes on disk and
 * over the network, not speed or memory.
 * @module
 */
import { tf } from '../tf';
import { ConfigError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { checkBoolean, checkInteger, checkNumber, checkOneOf } from '../ops/validate';
import { collectStats, type LinearStats } from './calibrate';
import { dequantizeMatrix, quantizeMatrix } from './int8';
import { setQuantized } from './registry';
import { allMatrixNames, calibrationBatches, copyModel, transformerOf, type CompressibleModel } from './targets';

/** Options of {@link quantize}. */
export interface QuantizeOptions {
  /** Bits per weight; only `8`. Default `8`. */
  bits?: 8;
  /**
   * Scale layout, both symmetric with one scale per output channel: `'per-channel'` stores the step size
   * (`w = q · scale`, our Conv1D layout); `'vector-wise'` stores LLM.int8()'s absmax (`w = q · SCB / 127`,
   * bitsandbytes' `[out, in]` layout and `.SCB` names). Activations are not quantized. Default `'per-channel'`.
   */
  scheme?: 'per-channel' | 'vector-wise';
  /**
   * LLM.int8()-style outliers: input dimensions whose calibration activations reach |x| >= this keep
   * their weight rows in float32. Needs `calibration`. Default: none (all int8).
   */
  outlierThreshold?: number;
  /**
   * Also store the token and position embeddings (`wte.weight`, `wpe.weight`; for a tied policy `wte` is
   * the output head too) as int8, with one scale per embedding dimension. For a small model with a large
   * vocabulary the embeddings are most of the file. Default `false` (embeddings stay float32).
   */
  embeddings?: boolean;
  /** Token-id sequences for the outlier test. Required with `outlierThreshold`. */
  calibration?: readonly (readonly number[])[];
  /** Calibration sequences per forward pass. Default `8`. */
  batchSize?: number;
  /** Receives progress (`task: 'quantize'`, one unit per matrix). Default: silent. */
  logger?: Logger;
}

/** {@link QuantizeOptions} validated, defaults filled in. */
export interface ResolvedQuantizeOptions {
  /** See {@link QuantizeOptions.bits}. */
  bits: 8;
  /** See {@link QuantizeOptions.scheme}. */
  scheme: 'per-channel' | 'vector-wise';
  /** See {@link QuantizeOptions.outlierThreshold}; `Infinity` when none. */
  outlierThreshold: number;
  /** See {@link QuantizeOptions.embeddings}. */
  embeddings: boolean;
  /** See {@link QuantizeOptions.batchSize}. */
  batchSize: number;
  /** See {@link QuantizeOptions.logger}. */
  logger: Logger;
}

/** Validates {@link QuantizeOptions}. Throws {@link ConfigError} naming the option. */
export function resolveQuantizeOptions(options: QuantizeOptions): ResolvedQuantizeOptions {
  if ((options.bits ?? 8) !== 8) throw new ConfigError('QuantizeOptions.bits', options.bits, 'must be 8 (only int8 is supported)');
  const scheme = checkOneOf('QuantizeOptions.scheme', options.scheme ?? 'per-channel', ['per-channel', 'vector-wise'] as const);
  const outlierThreshold = options.outlierThreshold === undefined ? Infinity : checkNumber('QuantizeOptions.outlierThreshold', options.outlierThreshold, { gt: 0 });
  if (Number.isFinite(outlierThreshold) && options.calibration === undefined) {
    throw new ConfigError('QuantizeOptions.calibration', undefined, 'is required with outlierThreshold (outliers are found in activations)');
  }
  const embeddings = checkBoolean('QuantizeOptions.embeddings', options.embeddings ?? false);
  return { bits: 8, scheme, outlierThreshold, embeddings, batchSize: checkInteger('QuantizeOptions.batchSize', options.batchSize ?? 8, 1), logger: options.logger ?? silentLogger };
}

/**
 * A new model of the same class as `model` (`model` is unchanged) whose block linear maps are int8 +
 * float32 scales. LayerNorms, biases and heads stay float32, and embeddings unless `embeddings: true`. Pruned zeros stay zero, so
 * `quantize(prune(m, ...))` composes.
 */
export function quantize<M extends CompressibleModel>(model: M, options: QuantizeOptions = {}): M {
  const o = resolveQuantizeOptions(options);
  const c = transformerOf(model).config;
  const names = allMatrixNames(c);
  const stats = Number.isFinite(o.outlierThreshold)
    ? collectStats(transformerOf(model), calibrationBatches('QuantizeOptions.calibration', options.calibration, c, o.batchSize), new Set(names), false)
    : undefined;
  const out = copyModel(model);
  try {
    quantizeInto(out, o.embeddings ? [...names, 'wte.weight', 'wpe.weight'] : names, stats, o);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

function quantizeInto(out: CompressibleModel, names: string[], stats: Map<string, LinearStats> | undefined, o: ResolvedQuantizeOptions): void {
  const tr = transformerOf(out);
  names.forEach((name, k) => {
    const v = tr.p(name);
    const [dIn, dOut] = v.shape as [number, number];
    const absMax = stats?.get(name)?.absMax ?? new Float32Array(0);
    const rows = Int32Array.from(absMax.keys()).filter((j) => (absMax[j] as number) >= o.outlierThreshold);
    const q = quantizeMatrix(v.dataSync() as Float32Array, dIn, dOut, o.scheme === 'per-channel' ? 'step' : 'absmax', rows);
    tf.tidy(() => v.assign(tf.tensor(dequantizeMatrix(q), v.shape, 'float32')));
    setQuantized(v, q);
    o.logger.progress?.({ task: 'quantize', done: k + 1, total: names.length, unit: 'matrix' });
  });
}
