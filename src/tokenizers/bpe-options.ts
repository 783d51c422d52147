/**
 * Options of {@link BpeTokenizer.train} and their one validation.
 * @module
 */
import { ConfigError, InputError } from '../errors';
import { checkInteger } from '../ops/validate';
import { silentLogger, type Logger } from '../logging/logger';
import { BYTE_TO_CHAR } from './byte-level-bpe';
import type { BpeTokenizer } from './bpe';

/** Options of {@link BpeTokenizer.train}. */
export interface BpeTrainOptions {
  /**
   * Size of the vocabulary to learn, special tokens and the 256 byte symbols included (Hugging Face
   * `BpeTrainer`'s `vocab_size`). Training stops earlier when no pair is left or the best pair is rarer
   * than {@link BpeTrainOptions.minFrequency}. An integer >= 256 + the number of special tokens.
   * Default: `4096`.
   */
  vocabSize?: number;
  /**
   * Special tokens, given ids `0, 1, ...` in this order (the Hugging Face convention). The
   * {@link BpeTrainOptions.eosToken}, {@link BpeTrainOptions.padToken} and
   * {@link BpeTrainOptions.bosToken} not listed here are appended. Text that spells one is still
   * encoded as ordinary text. Default: `['<|endoftext|>', '<|pad|>']`.
   */
  specialTokens?: string[];
  /** Stop when the most frequent pair occurs fewer times than this (`BpeTrainer`'s `min_frequency`). Default: `0`. */
  minFrequency?: number;
  /** The end-of-sequence token. Default: the first special token, else `'<|endoftext|>'`. */
  eosToken?: string;
  /** The padding token; must differ from the EOS token. Default: the first special token other than the EOS and BOS tokens, else `'<|pad|>'`. */
  padToken?: string;
  /** The beginning-of-sequence token. Default: the EOS token (as in GPT-2). */
  bosToken?: string;
  /** Receives progress (`task: 'bpe'`, tokens learned so far). Default: silent. */
  logger?: Logger;
}

/** {@link BpeTrainOptions} after validation, with the special tokens completed. @internal */
export interface ResolvedBpeTrainOptions {
  /** Target vocabulary size. */
  vocabSize: number;
  /** Special tokens in id order (eos, pad and bos included). */
  specialTokens: string[];
  /** Minimum pair count. */
  minFrequency: number;
  /** EOS token. */
  eosToken: string;
  /** PAD token. */
  padToken: string;
  /** BOS token. */
  bosToken: string;
  /** Progress sink. */
  logger: Logger;
}

/** Largest vocabulary {@link BpeTokenizer.train} accepts. */
const MAX_VOCAB = 1 << 20;
const BYTE_SYMBOLS = new Set(BYTE_TO_CHAR);

function tokenOption(name: string, v: unknown, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v.length === 0) throw new ConfigError(`BpeTrainOptions.${name}`, v, 'must be a non-empty string');
  return v;
}

function specialList(v: unknown): string[] {
  if (v === undefined) return ['<|endoftext|>', '<|pad|>'];
  if (!Array.isArray(v)) throw new ConfigError('BpeTrainOptions.specialTokens', v, 'must be an array of strings');
  v.forEach((t, i) => {
    if (typeof t !== 'string' || t.length === 0) throw new ConfigError(`BpeTrainOptions.specialTokens[${i}]`, t, 'must be a non-empty string');
    if (BYTE_SYMBOLS.has(t)) throw new ConfigError(`BpeTrainOptions.specialTokens[${i}]`, t, 'is one of the 256 byte symbols; a special token needs its own spelling');
    if (v.indexOf(t) !== i) throw new ConfigError(`BpeTrainOptions.specialTokens[${i}]`, t, 'is listed twice');
  });
  return [...(v as string[])];
}

/**
 * Validates {@link BpeTrainOptions} once.
 * @throws {@link ConfigError} naming the option and its value.
 * @internal
 */
export function resolveBpeTrainOptions(o: BpeTrainOptions = {}): ResolvedBpeTrainOptions {
  if (typeof o !== 'object' || o === null) throw new ConfigError('BpeTrainOptions', o, 'must be an object');
  const specialTokens = specialList(o.specialTokens);
  const eosToken = tokenOption('eosToken', o.eosToken, specialTokens[0] ?? '<|endoftext|>');
  const bosToken = tokenOption('bosToken', o.bosToken, eosToken);
  const padToken = tokenOption('padToken', o.padToken, specialTokens.find((t) => t !== eosToken && t !== bosToken) ?? '<|pad|>');
  if (padToken === eosToken) throw new ConfigError('BpeTrainOptions.padToken', padToken, 'must differ from the EOS token (masks built from ids !== padId must keep EOS)');
  for (const [name, t] of [['eosToken', eosToken], ['padToken', padToken], ['bosToken', bosToken]] as const) {
    if (BYTE_SYMBOLS.has(t)) throw new ConfigError(`BpeTrainOptions.${name}`, t, 'is one of the 256 byte symbols; a special token needs its own spelling');
    if (!specialTokens.includes(t)) specialTokens.push(t);
  }
  const minVocab = 256 + specialTokens.length;
  const vocabSize = checkInteger('BpeTrainOptions.vocabSize', o.vocabSize ?? 4096, minVocab, MAX_VOCAB);
  const minFrequency = checkInteger('BpeTrainOptions.minFrequency', o.minFrequency ?? 0, 0);
  const logger = o.logger ?? silentLogger;
  if (typeof logger !== 'object' || logger === null || typeof logger.log !== 'function') throw new ConfigError('BpeTrainOptions.logger', logger, 'must be a Logger (an object with a log method)');
  return { vocabSize, specialTokens, minFrequency, eosToken, padToken, bosToken, logger };
}

/**
 * Checks one element of the training texts.
 * @throws {@link InputError} naming `texts[i]` when it is not a string.
 * @internal
 */
export function checkTrainingText(text: unknown, i: number): asserts text is string {
  if (typeof text !== 'string') throw new InputError(`texts[${i}]`, text, 'must be a string');
}

/**
 * Checks that `texts` is an iterable of strings and not a single string.
 * @throws {@link InputError} naming `texts`.
 * @internal
 */
export function checkTrainingTexts(texts: unknown): asserts texts is Iterable<string> {
  if (typeof texts === 'string') throw new InputError('texts', texts, 'must be an array (or iterable) of strings, not one string');
  if (typeof texts !== 'object' || texts === null || typeof (texts as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new InputError('texts', texts, 'must be an array (or iterable) of strings');
  }
}
