/**
 * `TransformerPolicy`: a GPT-style language model as a policy. It scores tokens (log-probs with a
 * temperature), generates with a KV cache, clones itself (the frozen reference), and saves to
 * safetensors. It knows nothing of training: trainers use {@link TransformerPolicy.trainableVariables}
 * and {@link TransformerPolicy.tokenLogProbs}.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { Rng } from '../ops/random';
import { resolveGenerateOptions, type GenerateOptions, type GenerateResult } from '../generation/generate';
import { checkPromptResponseRows, promptResponseBatch, type PaddedBatch } from './batch';
import { decodeWeights, encodeWeights } from './checkpoint';
import { checkPrompts, generateTokens } from './decode';
import { GenerationPool } from '../parallel/gen-pool';
import { resolveWorkerCount } from '../parallel/options';
import type { WorkerMemory } from '../parallel/protocol';
import { presetConfig, resolveConfig, type PresetName, type ResolvedTransformerConfig, type TransformerConfig } from './config';
import { Transformer } from './transformer';
import { gatherLogProbs } from './layers';
import { loadWeightsFile, saveWeightsFile } from './files';
import { policyFromPretrained, savePolicyPretrained, type FromPretrainedOptions, type SavePretrainedOptions } from '../hf/pretrained';

/** The batch without its last column (the inputs whose outputs predict columns 1..T-1). */
export function dropLastColumn(batch: PaddedBatch): PaddedBatch {
  const { batch: B, length: T } = batch;
  const ids = new Int32Array(B * (T - 1));
  const mask = new Int32Array(B * (T - 1));
  for (let b = 0; b < B; b++) {
    ids.set(batch.ids.subarray(b * T, b * T + T - 1), b * (T - 1));
    mask.set(batch.mask.subarray(b * T, b * T + T - 1), b * (T - 1));
  }
  return { ids, mask, batch: B, length: T - 1 };
}

/** Options of tensor-level scoring. */
export interface TokenLogProbOptions {
  /** First column whose token is scored (>= 1); logits come from column `from - 1`. Default `1`. */
  from?: number;
  /** Divide logits by this before the softmax. Default `1`. */
  temperature?: number;
  /** Apply dropout (training). Default `false`. */
  training?: boolean;
  /** Random stream for dropout. */
  rng?: Rng;
}

/** A GPT-style Transformer language model used as a policy. */
export class TransformerPolicy {
  /** The validated config with defaults filled in. */
  readonly config: ResolvedTransformerConfig;
  /** The decoder (parameters and forward pass). */
  readonly model: Transformer;
  private readonly rng: Rng;
  /** Generation workers (`GenerateOptions.workers`), started on first use. */
  private pool: GenerationPool | undefined;
  /**
   * Defaults of {@link TransformerPolicy.generate}, overridden field by field by its options (e.g. from a
   * Hugging Face `generation_config.json`, see {@link TransformerPolicy.fromPretrained}). Default `{}`.
   */
  generationDefaults: GenerateOptions = {};

  /**
   * @param config - sizes and options; validated here (throws {@link ConfigError}).
   * @param weights - initial parameter values by GPT-2 name (copied); default: seeded initialisation.
   */
  constructor(config: TransformerConfig, weights?: Map<string, tf.Tensor>) {
    this.config = resolveConfig(config);
    this.model = new Transformer(this.config, weights);
    this.rng = new Rng(this.config.seed + 0x5eed);
  }

  /** A policy from a named size preset (`tiny`, `micro`, `small`, `gpt2`). */
  static fromPreset(name: PresetName, vocabSize: number, overrides: Partial<TransformerConfig> = {}): TransformerPolicy {
    return new TransformerPolicy(presetConfig(name, vocabSize, overrides));
  }

  /** The trainable variables, always in the same order. */
  get trainableVariables(): tf.Variable[] {
    return [...this.model.params.values()];
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    return this.model.parameterCount();
  }

  /**
   * Log-probabilities `[B, T - from]` of the tokens at columns `from..T-1` of a padded batch (call inside
   * `tf.tidy`). Padding anywhere is masked out of attention and does not shift positions.
   */
  tokenLogProbs(batch: PaddedBatch, options: TokenLogProbOptions = {}): tf.Tensor2D {
    const { batch: B, length: T } = batch;
    const from = options.from ?? 1;
    if (!Number.isInteger(from) || from < 1 || from >= T) throw new InputError('from', from, `must be an integer in [1, ${T - 1}]`);
    const inputs = dropLastColumn(batch); //                                        the last token is only a target
    const hidden = this.hidden(inputs, options); //                                 [B*(T-1), d]
    const d = this.config.dModel;
    const n = T - from;
    const h = tf.reshape(tf.slice(tf.reshape(hidden, [B, T - 1, d]), [0, from - 1, 0], [B, n, d]), [B * n, d]); // [B*n, d]
    const targets = new Int32Array(B * n);
    for (let b = 0; b < B; b++) targets.set(batch.ids.subarray(b * T + from, (b + 1) * T), b * n);
    const lp = gatherLogProbs(this.model.logits(h as tf.Tensor2D), targets, options.temperature ?? 1); // [B*n]
    return tf.reshape(lp, [B, n]);
  }

  /** Final hidden states `[B*T, d]` of a padded batch (call inside `tf.tidy`). */
  hidden(batch: PaddedBatch, options: { training?: boolean; rng?: Rng } = {}): tf.Tensor2D {
    return this.model.forwardBatch(batch, options);
  }

  /**
   * Log-probabilities of `responses[b]` given `prompts[b]` under `softmax(logits / temperature)`:
   * one array per row, as long as the response.
   */
  async logProbs(
    prompts: readonly (readonly number[])[],
    responses: readonly (readonly number[])[],
    options: { temperature?: number } = {},
  ): Promise<number[][]> {
    checkPromptResponseRows(prompts, responses, this.config.vocabSize, this.config.contextLength);
    const batch = promptResponseBatch(prompts, responses, 0);
    if (batch.responseLength === 0) return responses.map(() => []);
    const lp = tf.tidy(() => this.tokenLogProbs(batch, { from: batch.responseStart, temperature: options.temperature ?? 1 }));
    const values = await lp.array();
    lp.dispose();
    return values.map((row, b) => row.slice(0, (responses[b] as readonly number[]).length));
  }

  /**
   * Generates continuations of token-id prompts (left-padded as a batch). See {@link GenerateOptions}.
   * @throws {@link ConfigError} naming an invalid option; {@link InputError} naming an invalid or too long prompt.
   */
  async generate(prompts: readonly (readonly number[])[], options: GenerateOptions = {}): Promise<GenerateResult> {
    const o = resolveGenerateOptions({ ...this.generationDefaults, ...options }, this.config.vocabSize);
    const rng = o.seed === undefined ? this.rng : new Rng(o.seed);
    checkPrompts(this.model, prompts, o.maxNewTokens);
    const n = o.tools.length > 0 ? 1 : await resolveWorkerCount('GenerateOptions.workers', o.workers, prompts.length);
    if (n <= 1) return generateTokens(this.model, prompts, o, rng);
    this.pool ??= new GenerationPool(this);
    return this.pool.generate(prompts, o, rng, n);
  }

  /** Memory of the generation worker threads (empty when none runs). */
  async workerMemory(): Promise<WorkerMemory[]> {
    return this.pool ? this.pool.memory() : [];
  }

  /** An independent copy (same config and weights), e.g. the frozen reference policy. */
  clone(): TransformerPolicy {
    return new TransformerPolicy(this.config, this.model.params);
  }

  /** Weights as safetensors bytes (config in the metadata). Works in browsers. */
  toSafetensors(): Uint8Array {
    return encodeWeights(this.model.params, this.config);
  }

  /** A policy from safetensors bytes; `config` overrides the one stored in the file. Works in browsers. */
  static fromSafetensors(bytes: Uint8Array, config?: TransformerConfig, file = '<bytes>'): TransformerPolicy {
    const { config: c, values } = decodeWeights(bytes, config, file);
    try {
      return new TransformerPolicy(c, values);
    } finally {
      tf.dispose([...values.values()]);
    }
  }

  /** Saves `config.json` and `model.safetensors` into `dir` (Node), atomically as a whole (see `io/atomic-dir`). */
  async save(dir: string): Promise<void> {
    await saveWeightsFile(dir, this.toSafetensors(), this.config);
  }

  /** Loads a policy saved by {@link TransformerPolicy.save} (Node). */
  static async load(dir: string): Promise<TransformerPolicy> {
    const { bytes, file, config } = await loadWeightsFile(dir);
    return TransformerPolicy.fromSafetensors(bytes, config, file);
  }

  /**
   * A policy from a Hugging Face GPT-2 folder or Hub repo id (`'openai-community/gpt2'`, `'org/name'`;
   * `options.revision` picks a branch, tag or commit): `config.json` in GPT2Config names,
   * `model.safetensors` or sharded weights in F32/F16/BF16, names with or without `transformer.`;
   * `generation_config.json` sets {@link TransformerPolicy.generationDefaults}. A folder written by
   * {@link TransformerPolicy.save} loads too. Hub files are cached as `huggingface_hub` caches them.
   * Node.js only.
   * @throws {@link ConfigError} for an unsupported architecture or activation; {@link FileFormatError}
   *   for missing or mis-shaped tensors; {@link HubError} when a download fails.
   */
  static async fromPretrained(source: string, options: FromPretrainedOptions = {}): Promise<TransformerPolicy> {
    return policyFromPretrained(source, options);
  }

  /**
   * Writes a folder `transformers.GPT2LMHeadModel.from_pretrained(dir)` loads with the same
   * log-probs: `config.json`, `model.safetensors` (F32, `transformer.` names), `generation_config.json`,
   * and the tokenizer's files when `options.tokenizer` is given; atomic as a whole. Node.js only.
   */
  async savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    await savePolicyPretrained(this, dir, options);
  }

  /** Frees the weights and ends the generation worker threads. */
  dispose(): void {
    void this.pool?.dispose();
    this.pool = undefined;
    this.model.dispose();
  }
}
