/**
 * Transformer configuration: the options, their defaults, validation, and named size presets.
 * @module
 */
import { ConfigError } from '../errors';
import { checkBoolean, checkInteger, checkNumber, checkSeed } from '../ops/validate';

/** Options of a GPT-style decoder. Validated once by {@link resolveConfig}. */
export interface TransformerConfig {
  /** Number of token ids the model embeds and predicts. Required. */
  vocabSize: number;
  /** Longest sequence (prompt + response) the model accepts; size of the position table. Required. */
  contextLength: number;
  /** Number of transformer blocks. Required. */
  nLayer: number;
  /** Number of attention heads; must divide `dModel`. Required. */
  nHead: number;
  /** Width of the residual stream. Required. */
  dModel: number;
  /** Hidden width of the MLP. Default `4 * dModel`. */
  dMlp?: number;
  /** Dropout rate used by training methods (never during generation or log-prob scoring). Default `0`. */
  dropout?: number;
  /** Share the token embedding with the LM head (GPT-2 style). Default `true`. */
  tieEmbeddings?: boolean;
  /** Seed of the weight initialisation; equal seeds give equal weights. Default `0`. */
  seed?: number;
  /** LayerNorm epsilon. Default `1e-5` (GPT-2). */
  layerNormEpsilon?: number;
}

/** A {@link TransformerConfig} with every default filled in and sizes derived. */
export interface ResolvedTransformerConfig extends Required<TransformerConfig> {
  /** `dModel / nHead`. */
  readonly headDim: number;
}

const C = (name: string): string => `TransformerConfig.${name}`;
const checkInt = (name: string, v: unknown, min: number): number => checkInteger(C(name), v, min);

/** Validates a config and fills in defaults. Throws {@link ConfigError} naming the first bad field. */
export function resolveConfig(config: TransformerConfig): ResolvedTransformerConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('TransformerConfig', config, 'must be an object');
  }
  const vocabSize = checkInt('vocabSize', config.vocabSize, 2);
  const contextLength = checkInt('contextLength', config.contextLength, 1);
  const nLayer = checkInt('nLayer', config.nLayer, 1);
  const nHead = checkInt('nHead', config.nHead, 1);
  const dModel = checkInt('dModel', config.dModel, 1);
  if (dModel % nHead !== 0) {
    throw new ConfigError('TransformerConfig.nHead', nHead, `must divide dModel = ${dModel}`);
  }
  const dMlp = checkInt('dMlp', config.dMlp ?? 4 * dModel, 1);
  const dropout = checkNumber(C('dropout'), config.dropout ?? 0, { ge: 0, lt: 1 });
  const tieEmbeddings = checkBoolean(C('tieEmbeddings'), config.tieEmbeddings ?? true);
  const seed = checkSeed(C('seed'), config.seed ?? 0);
  const layerNormEpsilon = checkNumber(C('layerNormEpsilon'), config.layerNormEpsilon ?? 1e-5, { gt: 0 });
  return {
    vocabSize, contextLength, nLayer, nHead, dModel, dMlp, dropout, tieEmbeddings, seed, layerNormEpsilon,
    headDim: dModel / nHead,
  };
}

/** Size presets without `vocabSize` (which comes from the tokenizer). */
export type TransformerPreset = Omit<TransformerConfig, 'vocabSize'>;

/** Name of a preset in {@link PRESETS}. */
export type PresetName = 'tiny' | 'micro' | 'small' | 'gpt2';

/**
 * Named sizes. `tiny` is for tests (fast, seeded); `micro` is the benchmark config; `small` and
 * `gpt2` follow nanoGPT / GPT-2 (124M with the GPT-2 vocabulary).
 */
export const PRESETS: Readonly<Record<PresetName, TransformerPreset>> = {
  /** 2 layers, 2 heads, width 32, context 32: unit tests. */
  tiny: { contextLength: 32, nLayer: 2, nHead: 2, dModel: 32, seed: 1 },
  /** 4 layers, 4 heads, width 128, context 64: the benchmark config (~0.87 M params at vocab 512). */
  micro: { contextLength: 64, nLayer: 4, nHead: 4, dModel: 128, seed: 1 },
  /** 6 layers, 6 heads, width 192, context 256: demos on a laptop CPU. */
  small: { contextLength: 256, nLayer: 6, nHead: 6, dModel: 192, seed: 1 },
  /** GPT-2 small layout: 12 layers, 12 heads, width 768, context 1024. */
  gpt2: { contextLength: 1024, nLayer: 12, nHead: 12, dModel: 768, seed: 1 },
};

/** A full config from a preset name plus the vocabulary size and any overrides. */
export function presetConfig(
  name: PresetName,
  vocabSize: number,
  overrides: Partial<TransformerConfig> = {},
): TransformerConfig {
  const preset = (PRESETS as Record<string, TransformerPreset>)[name];
  if (preset === undefined) throw new ConfigError('preset', name, `must be one of ${Object.keys(PRESETS).join(', ')}`);
  return { ...preset, vocabSize, ...overrides };
}
