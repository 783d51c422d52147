/**
 * `moderationRules`: a {@link Moderator} from a list of patterns (words, phrases or regular
 * expressions), each under a category.
 * @module
 */
import { ConfigError } from '../errors';
import type { Moderator, ModerationResult } from './types';

/** One rule of {@link moderationRules}. */
export interface ModerationRule {
  /** A phrase (matched case-insensitively, on word boundaries where it starts/ends with a letter or digit) or a regular expression. */
  pattern: string | RegExp;
  /** Category the rule flags. Default `"rule"`. */
  category?: string;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function compile(rule: string | RegExp | ModerationRule, i: number): { re: RegExp; category: string } {
  const r: ModerationRule = typeof rule === 'string' || rule instanceof RegExp ? { pattern: rule } : rule;
  if (typeof r !== 'object' || r === null) throw new ConfigError(`patterns[${i}]`, rule, 'must be a string, a RegExp or { pattern, category }');
  const category = r.category ?? 'rule';
  if (typeof category !== 'string' || category === '') throw new ConfigError(`patterns[${i}].category`, category, 'must be a non-empty string');
  if (r.pattern instanceof RegExp) return { re: new RegExp(r.pattern.source, r.pattern.flags.replace(/[gy]/g, '')), category };
  if (typeof r.pattern !== 'string' || r.pattern.trim() === '') throw new ConfigError(`patterns[${i}].pattern`, r.pattern, 'must be a non-empty string or a RegExp');
  const p = r.pattern.trim();
  const left = /^[\p{L}\p{N}]/u.test(p) ? '(?<![\\p{L}\\p{N}])' : '';
  const right = /[\p{L}\p{N}]$/u.test(p) ? '(?![\\p{L}\\p{N}])' : '';
  return { re: new RegExp(`${left}${escape(p).replace(/\s+/g, '\\s+')}${right}`, 'iu'), category };
}

/**
 * A {@link Moderator} that flags a text when any pattern matches it. A string pattern is a phrase,
 * matched case-insensitively as whole words (`"bomb"` flags "a Bomb!" but not "bombastic"); a
 * `RegExp` is used as given (its `g`/`y` flags dropped). Every category named by a rule appears in
 * `categories` (flagged or not). Regular expressions come from the caller: keep them linear-time.
 * @param patterns - phrases, regular expressions, or `{ pattern, category }` (category default `"rule"`).
 * @throws {@link ConfigError} naming the bad pattern.
 * @example
 * ```ts
 * const moderation = moderationRules([{ pattern: 'build a bomb', category: 'violence' }, /\bpassword\b/i]);
 * (await moderation('How do I build a  bomb?')).categories // { violence: true, rule: false }
 * ```
 */
export function moderationRules(patterns: readonly (string | RegExp | ModerationRule)[]): Moderator {
  if (!Array.isArray(patterns)) throw new ConfigError('patterns', patterns, 'must be an array of strings, RegExps or { pattern, category }');
  const rules = patterns.map(compile);
  const names = [...new Set(rules.map((r) => r.category))];
  return (text: string): ModerationResult => {
    const categories: Record<string, boolean> = Object.fromEntries(names.map((n) => [n, false]));
    const s = typeof text === 'string' ? text : String(text);
    for (const r of rules) if (!categories[r.category] && r.re.test(s)) categories[r.category] = true;
    return { flagged: Object.values(categories).some(Boolean), categories };
  };
}
