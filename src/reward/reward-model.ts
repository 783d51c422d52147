/**
 * `RewardModel`: a transformer trunk plus a scalar head, read at the last real (non-pad) token of
 * prompt + response (InstructGPT). The same trunk + head read at every token is a value model (critic)
 * for PPO: {@link RewardModel.tokenValues}. Scores can be normalised (lm-human-preferences): a gain and a
 * bias, fitted so scores of a reference sample have mean 0 and std 1, applied by {@link RewardModel.score}
 * and stored in checkpoints.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, FileFormatError, InputError } from '../errors';
import { Rng } from '../ops/random';
import { Transformer } from '../models/transformer';
import { decodeWeights, encodeWeights } from '../models/checkpoint';
import { resolveConfig, type ResolvedTransformerConfig, type TransformerConfig } from '../models/config';
import { checkPromptResponseRows, lastTokenIndex, promptResponseBatch, type PaddedBatch } from '../models/batch';
import { matmul2d } from '../models/layers';
import { loadWeightsFile, modelFiles, type ModelFile } from '../models/files';
import { writeDirAtomic, type CheckpointFiles } from '../io/atomic-dir';
import type { TransformerPolicy } from '../models/policy';
import type { ChatMessage } from '../data/types';
import { tokenizeChatPrompt } from '../data/chat-template';
import { conversationPromptProblem } from '../data/validate';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { rewardFromPretrained, saveRewardPretrained, type FromPretrainedOptions, type SavePretrainedOptions } from '../hf/pretrained';

const HEAD_W = 'score.weight';
const HEAD_B = 'score.bias';
const META_GAIN = 'tfjs-rlhf.reward.gain';
const META_BIAS = 'tfjs-rlhf.reward.bias';

/** Options of a new {@link RewardModel}. */
export interface RewardModelOptions {
  /** Seed of the head initialisation. Default: `config.seed + 1`. */
  headSeed?: number;
}

/** Options of {@link RewardModel.scoreConversations}. */
export interface ScoreConversationsOptions {
  /** Append the tokenizer's EOS to every reply, as `RewardTrainer` (`appendEos`) and PPO samples do. Default `true`. */
  appendEos?: boolean;
}

/** Score normalisation: `score = gain * raw + bias`. */
export interface RewardNormalization {
  /** Multiplier of the raw head output. */
  gain: number;
  /** Added after the gain. */
  bias: number;
}

function headShapes(c: ResolvedTransformerConfig): [string, number[]][] {
  return [[HEAD_W, [1, c.dModel]], [HEAD_B, [1]]];
}

/** A transformer trunk with a scalar head: reward model, or value model when read at every token. */
export class RewardModel {
  /** The trunk's validated config (embeddings always tied; the LM head is unused). */
  readonly config: ResolvedTransformerConfig;
  /** The trunk. */
  readonly trunk: Transformer;
  /** Head weight `[1, d]` (Hugging Face `score.weight` layout). */
  readonly headWeight: tf.Variable;
  /** Head bias `[1]`. */
  readonly headBias: tf.Variable;
  private norm: RewardNormalization = { gain: 1, bias: 0 };

  /**
   * @param config - trunk sizes (validated; `tieEmbeddings` is forced to true).
   * @param weights - trunk (and optionally head) values by name; default: seeded initialisation.
   * @param options - head initialisation.
   */
  constructor(config: TransformerConfig, weights?: Map<string, tf.Tensor>, options: RewardModelOptions = {}) {
    this.config = resolveConfig({ ...config, tieEmbeddings: true });
    this.trunk = new Transformer(this.config, weights);
    const d = this.config.dModel;
    const w = weights?.get(HEAD_W);
    const rng = new Rng(options.headSeed ?? this.config.seed + 1);
    const std = 1 / Math.sqrt(d + 1); // N(0, 1/sqrt(d+1)) as in lm-human-preferences / the N+ details
    const wInit = w ?? tf.tensor2d(Float32Array.from({ length: d }, () => rng.normal() * std), [1, d]);
    const b = weights?.get(HEAD_B);
    const bInit = b ?? tf.zeros([1]);
    this.headWeight = tf.variable(wInit, true);
    this.headBias = tf.variable(bInit, true);
    if (w === undefined) wInit.dispose(); // the variables hold copies; free the initial values made here
    if (b === undefined) bInit.dispose();
  }

  /** A reward model whose trunk is a copy of `policy`'s (the LM head is dropped), with a fresh head. */
  static fromPolicy(policy: TransformerPolicy, options: RewardModelOptions = {}): RewardModel {
    const values = new Map<string, tf.Tensor>();
    for (const [name, v] of policy.model.params) if (name !== 'lm_head.weight') values.set(name, v);
    return new RewardModel({ ...policy.config, tieEmbeddings: true }, values, options);
  }

  /** Trunk and head variables, always in the same order. */
  get trainableVariables(): tf.Variable[] {
    return [...this.trunk.params.values(), this.headWeight, this.headBias];
  }

  /** Current normalisation (gain 1, bias 0 until {@link RewardModel.normalize} or a load). */
  get normalization(): RewardNormalization {
    return { ...this.norm };
  }

  /** Sets the normalisation directly. */
  setNormalization(n: RewardNormalization): void {
    if (!Number.isFinite(n.gain) || !Number.isFinite(n.bias)) throw new ConfigError('normalization', n, 'gain and bias must be finite');
    this.norm = { ...n };
  }

  /** Raw head output at every position, `[B, T]` (call inside `tf.tidy`). Used as a critic's values. */
  tokenValues(batch: PaddedBatch, options: { training?: boolean; rng?: Rng } = {}): tf.Tensor2D {
    const { batch: B, length: T } = batch;
    const hidden = this.trunk.forwardBatch(batch, options); //                      [B*T, d]
    const v = tf.add(matmul2d(hidden, tf.transpose(this.headWeight)), this.headBias); // [B*T, 1]
    return tf.reshape(v, [B, T]);
  }

  /** Raw (unnormalised) score at the last real token of each row, `[B]` (call inside `tf.tidy`). */
  rawScores(batch: PaddedBatch, options: { training?: boolean; rng?: Rng } = {}): tf.Tensor1D {
    const last = lastTokenIndex(batch);
    last.forEach((t, b) => {
      if (t < 0) throw new InputError(`batch row ${b}`, 'all padding', 'must contain at least one real token');
    });
    const select = new Float32Array(batch.batch * batch.length);
    last.forEach((t, b) => { select[b * batch.length + t] = 1; });
    const values = this.tokenValues(batch, options); //                             [B, T]
    return tf.sum(tf.mul(values, tf.tensor2d(select, [batch.batch, batch.length])), 1) as tf.Tensor1D; // [B]
  }

  /** Raw scores as numbers (no normalisation). */
  async scoreRaw(promptIds: readonly (readonly number[])[], responseIds: readonly (readonly number[])[]): Promise<number[]> {
    checkPromptResponseRows(promptIds, responseIds, this.config.vocabSize, this.config.contextLength, ['promptIds', 'responseIds']);
    const batch = promptResponseBatch(promptIds, responseIds, 0);
    const t = tf.tidy(() => this.rawScores(batch));
    const out = Array.from(await t.data());
    t.dispose();
    return out;
  }

  /** Normalised scores `gain * raw + bias` of each (prompt, response) pair; padding does not change them. */
  async score(promptIds: readonly (readonly number[])[], responseIds: readonly (readonly number[])[]): Promise<number[]> {
    const raw = await this.scoreRaw(promptIds, responseIds);
    return raw.map((r) => this.norm.gain * r + this.norm.bias);
  }

  /**
   * Normalised scores of candidate replies to conversations (TRL: `apply_chat_template(messages +
   * [reply])`, then the model). Each conversation is rendered with the chat template SFT trains on
   * (`tokenizeChatPrompt`: every turn, earlier assistant turns ending in EOS, then the open
   * `<|assistant|>\n` header) and the reply follows it, with EOS appended as `RewardTrainer` does by
   * default. So `scoreConversations([m], [r], tok)` equals
   * `score([tokenizeChatPrompt(m, tok)], [[...tok.encode(r), tok.eosId]])`.
   * @param conversations - One conversation per reply: non-empty, valid turns, the last not an assistant turn.
   * @param replies - The candidate assistant replies, as plain text.
   * @param tokenizer - The tokenizer the model was trained with.
   * @param options - See {@link ScoreConversationsOptions}.
   * @returns One score per reply, `gain * raw + bias`.
   * @throws An {@link InputError} naming e.g. `conversations[1].messages[2].role`, `replies[0]`, or a
   *   row longer than the context.
   */
  async scoreConversations(
    conversations: readonly (readonly ChatMessage[])[],
    replies: readonly string[],
    tokenizer: Tokenizer,
    options: ScoreConversationsOptions = {},
  ): Promise<number[]> {
    if (!Array.isArray(conversations)) throw new InputError('conversations', conversations, 'must be an array of conversations');
    if (!Array.isArray(replies) || replies.length !== conversations.length) {
      throw new InputError('replies', replies, `must be an array with one reply per conversation (${conversations.length})`);
    }
    const appendEos = options.appendEos ?? true;
    if (typeof appendEos !== 'boolean') throw new ConfigError('appendEos', appendEos, 'must be a boolean');
    const promptIds = conversations.map((m, i) => {
      const problem = conversationPromptProblem(m);
      if (problem !== undefined) throw new InputError(`conversations[${i}].${problem.path}`, problem.value, problem.reason);
      return tokenizeChatPrompt(m, tokenizer);
    });
    const responseIds = replies.map((r: unknown, i) => {
      if (typeof r !== 'string') throw new InputError(`replies[${i}]`, r, 'must be a string');
      return [...tokenizer.encode(r), ...(appendEos ? [tokenizer.eosId] : [])];
    });
    return this.score(promptIds, responseIds);
  }

  /**
   * Fits the normalisation so that scores of these samples (typically responses of the SFT policy)
   * have mean `targetMean` and standard deviation `targetStd` (population std). Returns it.
   */
  async normalize(
    promptIds: readonly (readonly number[])[],
    responseIds: readonly (readonly number[])[],
    options: { targetMean?: number; targetStd?: number; batchSize?: number } = {},
  ): Promise<RewardNormalization> {
    const bs = options.batchSize ?? 32;
    const raw: number[] = [];
    for (let i = 0; i < promptIds.length; i += bs) raw.push(...(await this.scoreRaw(promptIds.slice(i, i + bs), responseIds.slice(i, i + bs))));
    if (raw.length < 2) throw new InputError('promptIds.length', raw.length, 'normalisation needs at least 2 samples');
    const mean = raw.reduce((a, x) => a + x, 0) / raw.length;
    const std = Math.sqrt(raw.reduce((a, x) => a + (x - mean) ** 2, 0) / raw.length);
    if (!(std > 1e-12)) throw new InputError('samples', std, 'scores have zero spread; cannot normalise');
    const gain = (options.targetStd ?? 1) / std;
    this.setNormalization({ gain, bias: (options.targetMean ?? 0) - gain * mean });
    return this.normalization;
  }

  /** An independent copy (weights and normalisation). */
  clone(): RewardModel {
    const values = new Map<string, tf.Tensor>(this.trunk.params);
    values.set(HEAD_W, this.headWeight);
    values.set(HEAD_B, this.headBias);
    const c = new RewardModel(this.config, values);
    c.setNormalization(this.norm);
    return c;
  }

  /** Weights (trunk + head) and normalisation as safetensors bytes. Works in browsers. */
  toSafetensors(): Uint8Array {
    const params = new Map<string, tf.Tensor>(this.trunk.params);
    params.set(HEAD_W, this.headWeight);
    params.set(HEAD_B, this.headBias);
    return encodeWeights(params, this.config, {
      'tfjs-rlhf.kind': 'reward-model',
      [META_GAIN]: String(this.norm.gain),
      [META_BIAS]: String(this.norm.bias),
    });
  }

  /** A reward model from safetensors bytes written by {@link RewardModel.toSafetensors}. */
  static fromSafetensors(bytes: Uint8Array, config?: TransformerConfig, file = '<bytes>'): RewardModel {
    const { config: c, values, metadata } = decodeWeights(bytes, config ? { ...config, tieEmbeddings: true } : undefined, file, headShapes);
    try {
      const rm = new RewardModel(c, values);
      const gain = Number(metadata[META_GAIN] ?? 1);
      const bias = Number(metadata[META_BIAS] ?? 0);
      if (!Number.isFinite(gain) || !Number.isFinite(bias)) throw new FileFormatError(file, `bad normalisation metadata gain=${metadata[META_GAIN]} bias=${metadata[META_BIAS]}`);
      rm.setNormalization({ gain, bias });
      return rm;
    } finally {
      tf.dispose([...values.values()]);
    }
  }

  /** Saves `config.json` + `model.safetensors` into `dir` (Node), atomically as a whole (see `io/atomic-dir`). */
  async save(dir: string): Promise<void> {
    await writeDirAtomic(dir, rewardModelFiles(this));
  }

  /** Loads a reward model saved by {@link RewardModel.save} (Node). Non-finite weights are a `FileFormatError`. */
  static async load(dir: string): Promise<RewardModel> {
    return rewardModelFromFile(await loadWeightsFile(dir));
  }

  /**
   * A reward model from a Hugging Face `GPT2ForSequenceClassification` folder or Hub repo id
   * (`num_labels = 1`: `score.weight` `[1, d]`, no bias), or a folder written by {@link RewardModel.save}.
   * OpenRLHF's `mean`/`std` in config.json become the normalisation. Node.js only.
   * @throws {@link ConfigError} when there is no `[1, d]` score head or the model is not GPT-2.
   */
  static async fromPretrained(source: string, options: FromPretrainedOptions = {}): Promise<RewardModel> {
    return rewardFromPretrained(source, options);
  }

  /**
   * Writes a `GPT2ForSequenceClassification` folder (TRL's `RewardTrainer` and OpenRLHF load it):
   * `pad_token_id` is the tokenizer's pad id, so Hugging Face reads the score at the same last real
   * token as {@link RewardModel.rawScores}; the head bias and normalisation go into OpenRLHF's
   * `mean`/`std`. Tokenizer files are written when given; atomic as a whole. Node.js only.
   */
  async savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    await saveRewardPretrained(this, dir, options);
  }

  /** Frees the weights. */
  dispose(): void {
    this.trunk.dispose();
    this.headWeight.dispose();
    this.headBias.dispose();
  }
}

/** The files of a reward-model checkpoint (`config.json` with its kind and normalisation, `model.safetensors`). */
export function rewardModelFiles(rm: RewardModel): CheckpointFiles {
  return modelFiles(rm.toSafetensors(), rm.config, { kind: 'reward-model', normalization: rm.normalization });
}

/** A reward model from a checkpoint's files (see `models/files`); the extra `config.json` fields are dropped. */
export function rewardModelFromFile({ bytes, file, config }: ModelFile): RewardModel {
  const { kind: _k, normalization: _n, ...trunk } = config as TransformerConfig & { kind?: string; normalization?: unknown };
  return RewardModel.fromSafetensors(bytes, trunk, file);
}
