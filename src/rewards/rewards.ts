/**
 * Verifiable reward functions for GRPO / RLOO (and PPO): answer accuracy against a dataset column,
 * format rewards, and weighted sums. Each is a plain function of the samples, so it can be passed
 * as `reward` to the online trainers, which hand every dataset column to it (TRL's contract).
 * @module
 */
import { ConfigError, InputError } from '../errors';
import { checkNumber } from '../ops/validate';
import type { RewardSample } from '../ppo/options';
import { extractAnswer, extractGsm8kAnswer, parseInteger, parseNumber, type AnswerFormat } from './extract';

/** A sample plus the extra dataset columns of its prompt row (e.g. `answer`, `solution`). */
export type ColumnRewardSample = RewardSample & { readonly [column: string]: unknown };

/** A reward computed from samples with their dataset columns: one finite number per sample. */
export type ColumnRewardFunction = (samples: ColumnRewardSample[]) => number[] | Promise<number[]>;

/** Options of {@link answersMatch}. */
export interface MatchOptions {
  /** Numbers match when `|pred - gold| <= tolerance * max(1, |gold|)`; 0 = exact. Default `0`. */
  tolerance?: number;
}

/**
 * Whether a predicted answer matches the gold one: numerically when both parse as numbers
 * (`"72.0"` = `"72"` = `"72,"`), else by trimmed, case-insensitive string equality. An undefined
 * prediction never matches.
 * @param pred - the extracted prediction.
 * @param gold - the gold answer.
 * @param options - see {@link MatchOptions}.
 */
export function answersMatch(pred: string | undefined, gold: string, options: MatchOptions = {}): boolean {
  const tol = checkNumber('MatchOptions.tolerance', options.tolerance ?? 0, { ge: 0 });
  if (pred === undefined) return false;
  if (tol === 0) { // integers compare exactly at any size (floats cannot tell 2^53 + 1 from 2^53)
    const [a, b] = [parseInteger(pred), parseInteger(gold)];
    if (a !== undefined && b !== undefined) return a === b;
  }
  const p = parseNumber(pred);
  const g = parseNumber(gold);
  if (p !== undefined && g !== undefined) return Math.abs(p - g) <= tol * Math.max(1, Math.abs(g));
  return pred.trim().toLowerCase() === gold.trim().toLowerCase();
}

/** Options of {@link accuracyReward}. */
export interface AccuracyRewardOptions extends MatchOptions {
  /** Dataset column holding the gold answer (a GSM8K solution with `####` is reduced to its number). Default `'answer'`. */
  column?: string;
  /** Where to find the answer in the completion. Default `'auto'` (boxed, then `####`, then last number). */
  format?: AnswerFormat;
  /** Score of a correct answer. Default `1`. */
  correct?: number;
  /** Score of a wrong or missing answer. Default `0`. */
  wrong?: number;
}

/**
 * A reward function: `correct` when the completion's answer matches the sample's gold column, else
 * `wrong`. The gold value may be a number or a string (a whole GSM8K solution works: its `####`
 * answer is used).
 * @param options - see {@link AccuracyRewardOptions}.
 * @throws {@link InputError} at scoring time when a sample lacks the gold column.
 */
export function accuracyReward(options: AccuracyRewardOptions = {}): ColumnRewardFunction {
  const column = options.column ?? 'answer';
  const format = options.format ?? 'auto';
  if (!['gsm8k', 'boxed', 'last-number', 'auto'].includes(format)) throw new ConfigError('AccuracyRewardOptions.format', format, "must be 'gsm8k', 'boxed', 'last-number' or 'auto'");
  const correct = checkNumber('AccuracyRewardOptions.correct', options.correct ?? 1);
  const wrong = checkNumber('AccuracyRewardOptions.wrong', options.wrong ?? 0);
  const match = { tolerance: checkNumber('AccuracyRewardOptions.tolerance', options.tolerance ?? 0, { ge: 0 }) };
  return (samples) => samples.map((s, i) => {
    const raw = s[column];
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new InputError(`samples[${i}].${column}`, raw, 'must be the gold answer (a string or number)');
    const gold = typeof raw === 'number' ? String(raw) : extractGsm8kAnswer(raw) ?? raw;
    return answersMatch(extractAnswer(s.response, format), gold, match) ? correct : wrong;
  });
}

/**
 * A format reward: `score` when the whole response matches `pattern` (anchored at both ends), else 0.
 * The default pattern is the R1 template `<think>...</think>` then `<answer>...</answer>`.
 * @param pattern - the format. Default `/<think>[\s\S]*?<\/think>\s*<answer>[\s\S]*?<\/answer>/`.
 * @param score - reward of a match. Default `1`.
 */
export function formatReward(pattern: RegExp = /<think>[\s\S]*?<\/think>\s*<answer>[\s\S]*?<\/answer>/, score = 1): ColumnRewardFunction {
  if (!(pattern instanceof RegExp)) throw new ConfigError('pattern', pattern, 'must be a RegExp');
  checkNumber('score', score);
  const anchored = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
  return (samples) => samples.map((s) => (anchored.test(s.response.trim()) ? score : 0));
}

/**
 * The weighted sum of several reward functions (TRL's `reward_weights`).
 * @param parts - functions and their weights (default weight 1).
 * @throws {@link ConfigError} for an empty list or a non-finite weight.
 */
export function combineRewards(parts: readonly { reward: ColumnRewardFunction; weight?: number }[]): ColumnRewardFunction {
  if (!Array.isArray(parts) || parts.length === 0) throw new ConfigError('parts', parts, 'must be a non-empty array');
  const weights = parts.map((p, i) => checkNumber(`parts[${i}].weight`, p.weight ?? 1));
  return async (samples) => {
    const all = await Promise.all(parts.map((p) => p.reward(samples)));
    return samples.map((_, i) => all.reduce((a, r, k) => a + (weights[k] as number) * (r[i] as number), 0));
  };
}
