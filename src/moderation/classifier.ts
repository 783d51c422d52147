/**
 * `ModerationClassifier`: a transformer trunk with one sigmoid head per category, read at the last
 * real token of the text (the reward model's layout with `C` outputs instead of one). Its
 * {@link ModerationClassifier.moderator} is a {@link Moderator}.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError } from '../errors';
import { Rng } from '../ops/random';
import { Transformer } from '../models/transformer';
import { resolveConfig, type ResolvedTransformerConfig, type TransformerConfig } from '../models/config';
import { lastTokenIndex, leftPad, type PaddedBatch } from '../models/batch';
import { matmul2d } from '../models/layers';
import type { Tokenizer } from '../tokenizers/tokenizer';
import { checkNumber } from '../ops/validate';
import type { Moderator, ModerationResult } from './types';

/** Options of a new {@link ModerationClassifier}. */
export interface ModerationClassifierOptions {
  /** Trunk sizes (validated; `tieEmbeddings` forced to true). Required. */
  config: TransformerConfig;
  /** Category names, one sigmoid output each; non-empty, unique. Required. */
  categories: readonly string[];
  /** Encodes texts; its `vocabSize` must fit the trunk. Required. */
  tokenizer: Tokenizer;
  /** A category is flagged when its probability is >= this; in (0, 1). Default `0.5`. */
  threshold?: number;
}

/** A transformer trunk with one sigmoid output per moderation category. */
export class ModerationClassifier {
  /** The trunk's validated config. */
  readonly config: ResolvedTransformerConfig;
  /** The trunk. */
  readonly trunk: Transformer;
  /** Category names, in head order. */
  readonly categories: readonly string[];
  /** Head weight `[C, d]`. */
  readonly headWeight: tf.Variable;
  /** Head bias `[C]`. */
  readonly headBias: tf.Variable;
  /** Flagging threshold on each probability. */
  readonly threshold: number;
  private readonly tokenizer: Tokenizer;

  /** Validates the options (throws {@link ConfigError}) and initialises trunk and heads from the config's seed. */
  constructor(options: ModerationClassifierOptions) {
    if (typeof options !== 'object' || options === null) throw new ConfigError('ModerationClassifierOptions', options, 'must be an object');
    const cats = options.categories;
    if (!Array.isArray(cats) || cats.length === 0 || cats.some((c) => typeof c !== 'string' || c === '') || new Set(cats).size !== cats.length) {
      throw new ConfigError('ModerationClassifierOptions.categories', cats, 'must be a non-empty array of unique non-empty strings');
    }
    this.config = resolveConfig({ ...options.config, tieEmbeddings: true });
    if (options.tokenizer?.vocabSize > this.config.vocabSize) {
      throw new ConfigError('ModerationClassifierOptions.tokenizer.vocabSize', options.tokenizer?.vocabSize, `exceeds config.vocabSize ${this.config.vocabSize}`);
    }
    this.threshold = checkNumber('ModerationClassifierOptions.threshold', options.threshold ?? 0.5, { gt: 0, lt: 1 });
    this.tokenizer = options.tokenizer;
    this.categories = [...cats];
    this.trunk = new Transformer(this.config);
    const d = this.config.dModel;
    const rng = new Rng(this.config.seed + 1);
    const std = 1 / Math.sqrt(d + 1);
    this.headWeight = tf.variable(tf.tensor2d(Float32Array.from({ length: cats.length * d }, () => rng.normal() * std), [cats.length, d]), true);
    this.headBias = tf.variable(tf.zeros([cats.length]), true);
  }

  /** Trunk and head variables, always in the same order. */
  get trainableVariables(): tf.Variable[] {
    return [...this.trunk.params.values(), this.headWeight, this.headBias];
  }

  /** Texts as a left-padded batch (each cut to its last `contextLength` tokens; an empty text is one pad token). */
  encode(texts: readonly string[]): PaddedBatch {
    const T = this.config.contextLength;
    return leftPad(texts.map((t) => {
      if (typeof t !== 'string') throw new InputError('texts', t, 'must be strings');
      const ids = this.tokenizer.encode(t).slice(-T);
      return ids.length > 0 ? ids : [this.tokenizer.padId];
    }), this.tokenizer.padId);
  }

  /** Category logits `[B, C]` at the last real token of each row (call inside `tf.tidy`). */
  logits(batch: PaddedBatch, options: { training?: boolean; rng?: Rng } = {}): tf.Tensor2D {
    const { batch: B, length: T } = batch;
    const d = this.config.dModel;
    const hidden = this.trunk.forwardBatch(batch, options); //                      [B*T, d]
    const rows = Int32Array.from(lastTokenIndex(batch), (t, b) => b * T + Math.max(t, 0));
    const last = tf.gather(tf.reshape(hidden, [B * T, d]), tf.tensor1d(rows, 'int32')) as tf.Tensor2D; // [B, d]
    return tf.add(matmul2d(last, tf.transpose(this.headWeight)), this.headBias) as tf.Tensor2D; // [B, C]
  }

  /** Probability of each category for each text, `[B][C]` in {@link ModerationClassifier.categories} order. */
  async probabilities(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const p = tf.tidy(() => tf.sigmoid(this.logits(this.encode(texts))));
    const out = (await p.array()) as number[][];
    p.dispose();
    return out;
  }

  /** The verdict on one text: `categoryScores` are the probabilities, a category flagged at >= `threshold`. */
  async classify(text: string): Promise<ModerationResult> {
    const [probs] = await this.probabilities([text]);
    const categories: Record<string, boolean> = {};
    const categoryScores: Record<string, number> = {};
    this.categories.forEach((c, i) => {
      categoryScores[c] = (probs as number[])[i] as number;
      categories[c] = categoryScores[c] >= this.threshold;
    });
    return { flagged: Object.values(categories).some(Boolean), categories, categoryScores };
  }

  /** This classifier as a {@link Moderator} (for `servePolicy({ moderation })` and the collectors). */
  moderator(): Moderator {
    return (text: string) => this.classify(text);
  }

  /** Frees the weights. */
  dispose(): void {
    this.trunk.dispose();
    tf.dispose([this.headWeight, this.headBias]);
  }
}
