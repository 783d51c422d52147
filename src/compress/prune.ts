/**
 * `prune(model, options)`: a new model (same class) whose block linear maps are sparse, by magnitude or
 * by SparseGPT. SparseGPT runs block by block: the calibration sequences go through the already pruned
 * earlier blocks, each of block i's four maps gets `Σ x xᵀ` of its (pre-pruning) inputs, then all four
 * are pruned (as IST-DASLab/sparsegpt `opt_sequential`).
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { checkBoolean, checkInteger, checkNumber, checkOneOf } from '../ops/validate';
import { collectStats } from './calibrate';
import { magnitudePrune, magnitudePruneNM, type NMPattern } from './magnitude';
import { sparseGptPrune } from './sparsegpt';
import type { PaddedBatch } from '../models/batch';
import { blockMatrixNames, calibrationBatches, copyModel, headVariable, transformerOf, type CompressibleModel } from './targets';

/** Options of {@link prune}. */
export interface PruneOptions {
  /** `'magnitude'` (smallest |w| per matrix, no data) or `'sparsegpt'` (needs `calibration`). Default `'sparsegpt'`. */
  method?: 'magnitude' | 'sparsegpt';
  /** Fraction of each matrix's weights set to zero, in [0, 1). Default `0.5`; with `pattern` it must be N/M or omitted. */
  sparsity?: number;
  /** Semi-structured `'N:M'` pattern (N zeros in every M consecutive inputs of an output), e.g. `'2:4'`. Default: none (unstructured). */
  pattern?: string;
  /** Token-id sequences (each at most `contextLength` long) whose activations SparseGPT reconstructs. Required for `'sparsegpt'`. */
  calibration?: readonly (readonly number[])[];
  /** Calibration sequences per forward pass. Default `8`. */
  batchSize?: number;
  /** Inputs per SparseGPT mask block (multiple of M with a pattern). Default `128`. */
  blockSize?: number;
  /** SparseGPT's relative Hessian dampening (`percdamp`). Default `0.01`. */
  dampening?: number;
  /** Also prune the output head (untied `lm_head` / reward `score`), by magnitude. Default `false`. */
  heads?: boolean;
  /** Receives progress (`task: 'prune'`, one unit per block). Default: silent. */
  logger?: Logger;
}

/** {@link PruneOptions} validated, defaults filled in. */
export interface ResolvedPruneOptions {
  /** See {@link PruneOptions.method}. */
  method: 'magnitude' | 'sparsegpt';
  /** See {@link PruneOptions.sparsity}. */
  sparsity: number;
  /** Parsed {@link PruneOptions.pattern}. */
  pattern: NMPattern | undefined;
  /** See {@link PruneOptions.batchSize}. */
  batchSize: number;
  /** See {@link PruneOptions.blockSize}. */
  blockSize: number;
  /** See {@link PruneOptions.dampening}. */
  dampening: number;
  /** See {@link PruneOptions.heads}. */
  heads: boolean;
  /** See {@link PruneOptions.logger}. */
  logger: Logger;
}

function parsePattern(v: unknown, dims: number[]): NMPattern | undefined {
  if (v === undefined) return undefined;
  const m = typeof v === 'string' ? /^(\d{1,4}):(\d{1,4})$/.exec(v) : null;
  const p = m ? { n: Number(m[1]), m: Number(m[2]) } : undefined;
  if (p === undefined || p.n < 1 || p.n >= p.m) throw new ConfigError('PruneOptions.pattern', v, "must be 'N:M' with 1 <= N < M, e.g. '2:4'");
  const bad = dims.find((d) => d % p.m !== 0);
  if (bad !== undefined) throw new ConfigError('PruneOptions.pattern', v, `M must divide every input width; ${bad} is not a multiple of ${p.m}`);
  return p;
}

/** Validates {@link PruneOptions} against a model's sizes. Throws {@link ConfigError} naming the option. */
export function resolvePruneOptions(options: PruneOptions, dims: number[]): ResolvedPruneOptions {
  const method = checkOneOf('PruneOptions.method', options.method ?? 'sparsegpt', ['magnitude', 'sparsegpt'] as const);
  const pattern = parsePattern(options.pattern, dims);
  const sparsity = checkNumber('PruneOptions.sparsity', options.sparsity ?? (pattern ? pattern.n / pattern.m : 0.5), { ge: 0, lt: 1 });
  if (pattern && Math.abs(sparsity - pattern.n / pattern.m) > 1e-12) {
    throw new ConfigError('PruneOptions.sparsity', sparsity, `must be ${pattern.n}/${pattern.m} (or omitted) with pattern '${pattern.n}:${pattern.m}'`);
  }
  const blockSize = checkInteger('PruneOptions.blockSize', options.blockSize ?? 128, 1);
  if (pattern && blockSize % pattern.m !== 0) throw new ConfigError('PruneOptions.blockSize', blockSize, `must be a multiple of M = ${pattern.m}`);
  return {
    method, sparsity, pattern, blockSize,
    batchSize: checkInteger('PruneOptions.batchSize', options.batchSize ?? 8, 1),
    dampening: checkNumber('PruneOptions.dampening', options.dampening ?? 0.01, { gt: 0 }),
    heads: checkBoolean('PruneOptions.heads', options.heads ?? false),
    logger: options.logger ?? silentLogger,
  };
}

function assign(v: tf.Variable, values: Float32Array): void {
  tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
}

function pruneByMagnitude(w: Float32Array, shape: number[], o: ResolvedPruneOptions): Float32Array {
  const [dIn, dOut] = shape as [number, number];
  return o.pattern ? magnitudePruneNM(w, dIn, dOut, o.pattern) : magnitudePrune(w, o.sparsity);
}

function sparseGptOf(name: string, w: Float32Array, dIn: number, dOut: number, xtx: Float64Array, o: ResolvedPruneOptions): Float32Array {
  try {
    return sparseGptPrune(w, dIn, dOut, xtx, o);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new InputError(`calibration Hessian of ${name}`, e.message.slice(0, 120), 'is not positive definite after dampening (NaN or infinite activations?)');
  }
}

/**
 * A new model of the same class as `model` (policy or reward model; `model` is unchanged) whose block
 * linear maps are pruned. Embeddings, LayerNorms and biases stay dense; the head only with `heads`.
 * @throws {@link ConfigError} for bad options (SparseGPT without `calibration`, a pattern that does not divide the widths).
 */
export function prune<M extends CompressibleModel>(model: M, options: PruneOptions = {}): M {
  const c = transformerOf(model).config;
  const o = resolvePruneOptions(options, [c.dModel, c.dMlp]);
  const batches = o.method === 'sparsegpt' ? calibrationBatches('PruneOptions.calibration', options.calibration, c, o.batchSize) : [];
  const out = copyModel(model);
  try {
    pruneInto(out, batches, o);
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

function pruneInto(out: CompressibleModel, batches: PaddedBatch[], o: ResolvedPruneOptions): void {
  const tr = transformerOf(out);
  const c = tr.config;
  for (let i = 0; i < c.nLayer; i++) {
    const names = blockMatrixNames(i);
    const stats = o.method === 'sparsegpt' ? collectStats(tr, batches, new Set(names), true) : undefined;
    for (const name of names) {
      const v = tr.p(name);
      const [dIn, dOut] = v.shape as [number, number];
      const w = v.dataSync() as Float32Array;
      const s = stats?.get(name);
      assign(v, s ? sparseGptOf(name, w, dIn, dOut, s.xtx, o) : pruneByMagnitude(Float32Array.from(w), v.shape, o));
    }
    o.logger.progress?.({ task: 'prune', done: i + 1, total: c.nLayer, unit: 'block', info: { method: o.method } });
  }
  const head = o.heads ? headVariable(out) : undefined;
  if (head) {
    // Heads use the nn.Linear layout [out, in]: transpose so that groups run along the inputs.
    const t = tf.tidy(() => tf.transpose(head.variable));
    const w = Float32Array.from(t.dataSync());
    const [dIn, dOut] = t.shape as [number, number];
    t.dispose();
    const pruned = pruneByMagnitude(w, [dIn, dOut], o);
    tf.tidy(() => head.variable.assign(tf.transpose(tf.tensor2d(pruned, [dIn, dOut]))));
  }
}
