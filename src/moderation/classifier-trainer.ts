/**
 * `ModerationTrainer`: fits a {@link ModerationClassifier} with one sigmoid cross-entropy per
 * category, on examples `{ text, categories }` (read from JSONL with {@link readModerationExamples}).
 * It uses the same optimiser step as every trainer (clipping, finiteness check, AdamW).
 * @module
 */
import { tf } from '../tf';
import { FileFormatError, InputError } from '../errors';
import { AdamW } from '../optim/adamw';
import { optimizerStep } from '../train/step';
import { Rng } from '../ops/random';
import { checkInteger, checkNumber, checkSeed } from '../ops/validate';
import { readJsonl, type JsonlSource, type ReadJsonlOptions } from '../data/jsonl';
import type { ModerationClassifier } from './classifier';

/** One labelled text: the categories it belongs to (names, or `{ name: boolean }`); none means acceptable. */
export interface ModerationExample {
  /** The text (a user query). */
  text: string;
  /** Its categories: names that apply, or every name with a boolean. */
  categories: readonly string[] | Readonly<Record<string, boolean>>;
}

/** Options of {@link ModerationTrainer}. */
export interface ModerationTrainerOptions {
  /** The classifier to train (its variables are updated in place). Required. */
  classifier: ModerationClassifier;
  /** AdamW learning rate; > 0. Default `1e-3`. */
  learningRate?: number;
  /** Texts per step; integer >= 1. Default `16`. */
  batchSize?: number;
  /** Global gradient-norm clip. Default `1`. */
  maxGradNorm?: number;
  /** Seed of the shuffling. Default `0`. */
  seed?: number;
}

/** One step's numbers. */
export interface ModerationStepStats {
  /** Steps so far. */
  step: number;
  /** Mean sigmoid cross-entropy over texts and categories. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Parses one JSONL record `{ "text": string, "categories": string[] | { [name]: boolean } }`. */
function parseModerationExample(obj: unknown, where: { file: string; line: number }): ModerationExample {
  const r = obj as { text?: unknown; categories?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.text !== 'string') throw new FileFormatError(where.file, 'expected { "text": string, "categories": [...] }', where.line);
  const c = r.categories;
  const ok = Array.isArray(c) ? c.every((x) => typeof x === 'string') : typeof c === 'object' && c !== null && Object.values(c).every((x) => typeof x === 'boolean');
  if (!ok) throw new FileFormatError(where.file, '"categories" must be an array of names or an object of booleans', where.line);
  return { text: r.text, categories: c as ModerationExample['categories'] };
}

/** Reads moderation examples `{ "text", "categories" }` from JSONL (a path or a stream); bad rows throw {@link FileFormatError} with `file:line`. */
export function readModerationExamples(source: JsonlSource, options: ReadJsonlOptions = {}): AsyncIterable<ModerationExample> {
  return readJsonl(source, parseModerationExample, options);
}

/** Trains a {@link ModerationClassifier} (multi-label sigmoid cross-entropy). */
export class ModerationTrainer {
  private readonly c: ModerationClassifier;
  private readonly opt: AdamW;
  private readonly rng: Rng;
  private readonly batchSize: number;
  private readonly maxGradNorm: number;
  private readonly lr: number;
  private steps = 0;

  /** Validates the options (throws `ConfigError` naming the option). */
  constructor(options: ModerationTrainerOptions) {
    this.c = options.classifier;
    this.lr = checkNumber('ModerationTrainerOptions.learningRate', options.learningRate ?? 1e-3, { gt: 0 });
    this.batchSize = checkInteger('ModerationTrainerOptions.batchSize', options.batchSize ?? 16, 1);
    this.maxGradNorm = checkNumber('ModerationTrainerOptions.maxGradNorm', options.maxGradNorm ?? 1, { gt: 0 });
    this.rng = new Rng(checkSeed('ModerationTrainerOptions.seed', options.seed ?? 0));
    this.opt = new AdamW(this.c.trainableVariables, { learningRate: this.lr });
  }

  /** The 0/1 targets `[B, C]` of examples; an unknown category name throws {@link InputError}. */
  private targets(examples: readonly ModerationExample[], offset: number): Float32Array {
    const C = this.c.categories.length;
    const y = new Float32Array(examples.length * C);
    examples.forEach((e, b) => {
      const names = Array.isArray(e.categories) ? e.categories : Object.keys(e.categories).filter((k) => (e.categories as Record<string, boolean>)[k]);
      for (const n of names as string[]) {
        const i = this.c.categories.indexOf(n);
        if (i < 0) throw new InputError(`examples[${offset + b}].categories`, n, `is not one of the classifier's categories (${this.c.categories.join(', ')})`);
        y[b * C + i] = 1;
      }
    });
    return y;
  }

  /** One step on `examples` (one batch). */
  async step(examples: readonly ModerationExample[], offset = 0): Promise<ModerationStepStats> {
    const y = this.targets(examples, offset);
    const batch = this.c.encode(examples.map((e) => e.text));
    const C = this.c.categories.length;
    const r = await optimizerStep(this.opt, () => {
      const z = this.c.logits(batch, { training: true, rng: this.rng }); //       [B, C]
      const t = tf.tensor2d(y, [examples.length, C]);
      return { loss: tf.mean(tf.sub(tf.softplus(z), tf.mul(t, z))) as tf.Scalar }; // sigmoid cross-entropy
    }, { maxGradNorm: this.maxGradNorm, learningRate: this.lr, where: `ModerationTrainer step ${this.steps + 1}` });
    this.steps++;
    return { step: this.steps, loss: r.loss, gradNorm: r.gradNorm };
  }

  /** Shuffled passes over `examples` in batches of `batchSize`; one stats record per step. */
  async train(examples: readonly ModerationExample[], options: { epochs?: number } = {}): Promise<ModerationStepStats[]> {
    if (!Array.isArray(examples) || examples.length === 0) throw new InputError('examples', examples, 'must be a non-empty array of { text, categories }');
    const epochs = checkInteger('epochs', options.epochs ?? 1, 1);
    this.targets(examples, 0); // check every label before the first step
    const out: ModerationStepStats[] = [];
    for (let e = 0; e < epochs; e++) {
      const order = examples.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(this.rng.next() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      for (let i = 0; i < order.length; i += this.batchSize) {
        const idx = order.slice(i, i + this.batchSize);
        out.push(await this.step(idx.map((k) => examples[k] as ModerationExample)));
      }
    }
    return out;
  }

  /** Frees the optimizer state. */
  dispose(): void {
    this.opt.dispose();
  }
}
