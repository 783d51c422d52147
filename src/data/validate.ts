/**
 * Validators that turn a parsed JSON value into a typed dataset record, or throw a
 * {@link FileFormatError} naming the file, the line, the field and what is wrong with it.
 *
 * Every validator accepts extra, unknown fields and ignores them: the returned record holds only the
 * known fields (copied, so the caller's object is not retained). This lets one file carry metadata
 * columns (ids, sources, scores) without a schema change.
 * @module
 */
import { ConfigError, InputError, type FileFormatError } from '../errors';
import type {
  ChatMessage,
  PreferencePair,
  RankingExample,
  RecordLocation,
  SFTExample,
  ChatExample,
} from './types';
import { arrayField, asObject, fail, field, found, stringField } from './fields';
import { chatMessagesProblem, fieldProblemText } from './chat-problems';

export { asObject, fail, found, hasOwn, isRecord } from './fields';
export { chatMessagesProblem, conversationPromptProblem, fieldProblemText, type FieldProblem } from './chat-problems';

const SFT_FIELDS = ['prompt', 'completion'] as const;

/**
 * Validates one SFT row: `{ "prompt": string, "completion": string }`. Either string may be empty.
 * Extra fields are allowed and ignored.
 * @param obj - The parsed JSON value of the row.
 * @param where - The row's file and line, for the error message.
 * @returns A new {@link SFTExample} holding only `prompt` and `completion`.
 * @throws A {@link FileFormatError} at `where` when the row is not an object, a field is missing, or
 *   a field is not a string (the message names the field and the type found).
 */
export function parseSFT(obj: unknown, where: RecordLocation): SFTExample {
  const o = asObject(obj, where, 'SFT', SFT_FIELDS);
  return {
    prompt: stringField(o, 'prompt', where, 'SFT', SFT_FIELDS),
    completion: stringField(o, 'completion', where, 'SFT', SFT_FIELDS),
  };
}

const PAIR_FIELDS = ['prompt', 'chosen', 'rejected'] as const;

/**
 * Validates one preference row: `{ "prompt": string, "chosen": string, "rejected": string }`.
 * Strings may be empty. Extra fields are allowed and ignored.
 * @param obj - The parsed JSON value of the row.
 * @param where - The row's file and line, for the error message.
 * @returns A new {@link PreferencePair} holding only the three known fields.
 * @throws A {@link FileFormatError} at `where` when the row is not an object, a field is missing, or
 *   a field is not a string (the message names the field and the type found).
 */
export function parsePair(obj: unknown, where: RecordLocation): PreferencePair {
  const o = asObject(obj, where, 'preference', PAIR_FIELDS);
  return {
    prompt: stringField(o, 'prompt', where, 'preference', PAIR_FIELDS),
    chosen: stringField(o, 'chosen', where, 'preference', PAIR_FIELDS),
    rejected: stringField(o, 'rejected', where, 'preference', PAIR_FIELDS),
  };
}

/** Options for {@link parseRanking}. */
export interface ParseRankingOptions {
  /** Accept equal ranks (ties, which yield no pair). Default: `true`. */
  allowTies?: boolean;
}

const RANKING_FIELDS = ['prompt', 'responses', 'ranking'] as const;

/** Checks the ranks of a K-way ranking; returns the reason they are invalid, if they are. */
function rankingProblem(ranking: readonly unknown[], k: number, allowTies: boolean): string | undefined {
  if (ranking.length !== k) {
    return `field "ranking" has ${ranking.length} entries but "responses" has ${k}; they must have the same length`;
  }
  const seenAt = new Map<number, number>();
  for (let i = 0; i < k; i++) {
    const r = ranking[i];
    if (typeof r !== 'number') return `field "ranking[${i}]" must be a number, ${found(r)}`;
    if (!Number.isInteger(r) || r < 0 || r >= k) {
      return `field "ranking[${i}]" = ${r} must be an integer in [0, ${k}) (0 = best)`;
    }
    const prev = seenAt.get(r);
    if (prev !== undefined && !allowTies) {
      return `fields "ranking[${prev}]" and "ranking[${i}]" are both ${r}; ties are not allowed (allowTies: false)`;
    }
    if (prev === undefined) seenAt.set(r, i);
  }
  if (seenAt.size === 1) {
    return `all ${k} responses are tied at rank ${String(ranking[0])}; the row would yield no preference pair`;
  }
  return undefined;
}

/**
 * Validates one K-way ranking row:
 * `{ "prompt": string, "responses": string[], "ranking": number[] }`, where `ranking[i]` is the rank
 * of `responses[i]` (0 = best). Requires K ≥ 2, `ranking.length === responses.length`, every rank an
 * integer in `[0, K)`, and not all ranks equal (such a row yields no pair). With `allowTies` (the
 * default) equal ranks are accepted; without it the ranks must be a permutation of `0..K-1`. Extra
 * fields are allowed and ignored.
 * @param obj - The parsed JSON value of the row.
 * @param where - The row's file and line, for the error message.
 * @param options - See {@link ParseRankingOptions}.
 * @returns A new {@link RankingExample} (fresh arrays).
 * @throws A {@link FileFormatError} at `where` naming the field and the problem.
 * @throws A {@link ConfigError} when `options.allowTies` is not a boolean.
 */
export function parseRanking(obj: unknown, where: RecordLocation, options: ParseRankingOptions = {}): RankingExample {
  const allowTies = checkAllowTies(options);
  const o = asObject(obj, where, 'ranking', RANKING_FIELDS);
  const prompt = stringField(o, 'prompt', where, 'ranking', RANKING_FIELDS);
  return { prompt, ...rankedResponses(o, where, allowTies, RANKING_FIELDS) };
}

/**
 * The `allowTies` option of a ranking reader, checked.
 * @internal
 */
export function checkAllowTies(options: ParseRankingOptions): boolean {
  const allowTies = options.allowTies ?? true;
  if (typeof allowTies !== 'boolean') throw new ConfigError('allowTies', allowTies, 'must be a boolean');
  return allowTies;
}

/**
 * Reads and checks the `responses` and `ranking` fields of a ranking row (see {@link parseRanking}).
 * @internal
 */
export function rankedResponses(
  o: Record<string, unknown>, where: RecordLocation, allowTies: boolean, fields: readonly string[],
): { responses: string[]; ranking: number[] } {
  const rawResponses = arrayField(o, 'responses', where, 'ranking', fields);
  const responses = rawResponses.map((r, i) => {
    if (typeof r !== 'string') fail(where, `field "responses[${i}]" must be a string, ${found(r)}`);
    return r;
  });
  const k = responses.length;
  if (k < 2) fail(where, `field "responses" has ${k} entr${k === 1 ? 'y' : 'ies'}; a ranking needs at least 2`);
  const ranking = arrayField(o, 'ranking', where, 'ranking', fields);
  const problem = rankingProblem(ranking, k, allowTies);
  if (problem !== undefined) fail(where, problem);
  return { responses, ranking: ranking.slice() as number[] };
}


/**
 * Validates one chat row: `{ "messages": [{ "role": "system" | "user" | "assistant", "content":
 * string }, ...] }`. The list must be non-empty and hold at least one assistant turn; roles may come
 * in any order. Extra fields, on the row or on a message, are allowed and ignored.
 * @param obj - The parsed JSON value of the row.
 * @param where - The row's file and line, for the error message.
 * @returns A new {@link ChatExample} (fresh message objects holding only `role` and `content`).
 * @throws A {@link FileFormatError} at `where` naming the field (e.g. `messages[2].role`) and the
 *   problem: missing field, wrong type, unknown role, empty list, no assistant turn.
 */
export function parseChat(obj: unknown, where: RecordLocation): ChatExample {
  const o = asObject(obj, where, 'chat', ['messages']);
  const messages = field(o, 'messages', where, 'chat', ['messages']);
  const problem = chatMessagesProblem(messages, true);
  if (problem !== undefined) fail(where, fieldProblemText(problem));
  return { messages: (messages as ChatMessage[]).map((m) => ({ role: m.role, content: m.content })) };
}

/**
 * Expands a K-way ranking into every pairwise preference it implies: for each index pair `i < j`
 * (in lexicographic order) with different ranks, one pair whose `chosen` is the response with the
 * lower rank number (the better one). Ties yield no pair, so K responses with distinct ranks give
 * exactly K·(K−1)/2 pairs. The order is deterministic: it depends only on the input.
 * @param r - A ranking, e.g. from {@link parseRanking}.
 * @returns The pairs, each sharing `r.prompt`.
 * @throws An {@link InputError} when `ranking` and `responses` differ in length.
 */
export function preferencePairsFromRanking(r: RankingExample): PreferencePair[] {
  const { prompt, responses, ranking } = r;
  if (ranking.length !== responses.length) {
    throw new InputError('r.ranking', ranking, `must have one rank per response (${responses.length})`);
  }
  const pairs: PreferencePair[] = [];
  for (let i = 0; i < responses.length; i++) {
    for (let j = i + 1; j < responses.length; j++) {
      const ri = ranking[i] as number;
      const rj = ranking[j] as number;
      if (ri === rj) continue;
      const [better, worse] = ri < rj ? [i, j] : [j, i];
      pairs.push({ prompt, chosen: responses[better] as string, rejected: responses[worse] as string });
    }
  }
  return pairs;
}
