/**
 * The moderation contract: a {@link Moderator} looks at a text (a user query) and says whether it is
 * flagged and under which categories. Rule lists, the trained {@link ModerationClassifier} and the
 * OpenAI-compatible client all produce one; `servePolicy({ moderation })` and the collectors use it.
 * @module
 */
import { ConfigError } from '../errors';

/** The verdict of a {@link Moderator} on one text. */
export interface ModerationResult {
  /** `true` when the text must not be answered (any category flagged). */
  flagged: boolean;
  /** Per category: whether it was flagged (categories the moderator knows of, flagged or not). */
  categories: Record<string, boolean>;
  /** Per category: a score in [0, 1] where the moderator has one (classifier, remote API). Optional. */
  categoryScores?: Record<string, number>;
}

/** Checks a text: `(text) => { flagged, categories }`, synchronously or as a promise. */
export type Moderator = (text: string) => ModerationResult | Promise<ModerationResult>;

/**
 * Checks that `v` is a {@link Moderator} (a function); throws {@link ConfigError} naming `name`.
 * @internal
 */
export function checkModerator(name: string, v: unknown): Moderator {
  if (typeof v !== 'function') throw new ConfigError(name, v, 'must be a Moderator function (text) => { flagged, categories }');
  return v as Moderator;
}

/**
 * Runs a moderator and checks its answer's shape (a moderator that breaks the contract is a bug:
 * throws a TypeError naming what is wrong, so a caller fails closed rather than answering).
 * @internal
 */
export async function moderate(moderator: Moderator, text: string): Promise<ModerationResult> {
  const r = await moderator(text);
  if (typeof r !== 'object' || r === null || typeof r.flagged !== 'boolean' || typeof r.categories !== 'object' || r.categories === null) {
    throw new TypeError('the moderator must return { flagged: boolean, categories: Record<string, boolean> }');
  }
  return r;
}

/** The names of the flagged categories of a result, sorted. @internal */
export function flaggedCategories(r: ModerationResult): string[] {
  return Object.keys(r.categories).filter((k) => r.categories[k] === true).sort();
}
