/**
 * Validators that turn a parsed JSON value into a typed dataset record, or throw a
 * {@link FileFormatError} naming the file, the line, the field and what is wrong with it.
 *
 * Every validator accepts extra, unknown fields and ignores them: the returned record holds only the
 * known fields (copied, so the caller's object is not retained). This lets one file carry metadata
 * columns (ids, sources, scores) without a schema change.
 * @module
 */
import { ConfigError, FileFormatError, InputError, previewValue } from '../errors';
import type {
  ChatMessage,
  ChatRole,
  PreferencePair,
  RankingExample,
  RecordLocation,
  SFTExample,
  ChatExample,
} from './types';

/**
 * What is wrong with one field.
 * @internal
 */
export interface FieldProblem {
  /** Path of the offending value, e.g. `"messages[2].role"`. */
  path: string;
  /** The offending value (`undefined` when it is missing). */
  value: unknown;
  /** What is wrong, e.g. `"must be a string, found null"`. */
  reason: string;
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

/** The JSON type of a value: `"null"`, `"array"`, `"string"`, `"number"`, `"object"`, ... */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A short rendering of a value for error messages. */
function preview(v: unknown): string {
  return v === null || v === undefined ? '' : ` ${previewValue(v, 60)}`;
}

/**
 * `"found <type> <preview>"` for error messages.
 * @internal
 */
export function found(v: unknown): string {
  return `found ${kindOf(v)}${preview(v)}`;
}

/**
 * Whether `v` is a plain JSON object (not null, not an array).
 * @internal
 */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Whether `o` has its own property `key`.
 * @internal
 */
export function hasOwn(o: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/**
 * Throws a {@link FileFormatError} at `where` with `reason`.
 * @internal
 */
export function fail(where: RecordLocation, reason: string): never {
  throw new FileFormatError(where.file, reason, where.line);
}

function fieldList(fields: readonly string[]): string {
  return fields.map((f) => JSON.stringify(f)).join(', ');
}

/**
 * Checks that `obj` is a JSON object; `fields` are the fields the row kind needs.
 * @internal
 */
export function asObject(obj: unknown, where: RecordLocation, kind: string, fields: readonly string[]): Record<string, unknown> {
  if (!isRecord(obj)) {
    fail(where, `expected a JSON object with fields ${fieldList(fields)} (${kind} row), ${found(obj)}`);
  }
  return obj;
}

/** Reads a required field, failing with the row kind's field list when it is missing. */
function field(o: Record<string, unknown>, key: string, where: RecordLocation, kind: string, fields: readonly string[]): unknown {
  if (!hasOwn(o, key)) {
    fail(where, `missing field "${key}" (a ${kind} row needs ${fieldList(fields)})`);
  }
  return o[key];
}

function stringField(o: Record<string, unknown>, key: string, where: RecordLocation, kind: string, fields: readonly string[]): string {
  const v = field(o, key, where, kind, fields);
  if (typeof v !== 'string') fail(where, `field "${key}" must be a string, ${found(v)}`);
  return v;
}

function arrayField(o: Record<string, unknown>, key: string, where: RecordLocation, kind: string, fields: readonly string[]): unknown[] {
  const v = field(o, key, where, kind, fields);
  if (!Array.isArray(v)) fail(where, `field "${key}" must be an array, ${found(v)}`);
  return v;
}

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
 * The message of a {@link FieldProblem} as a row error: `missing field "messages[0].content"` or
 * `field "messages[2].role" is ...`.
 * @internal
 */
export function fieldProblemText(problem: FieldProblem): string {
  return problem.reason === 'is missing' ? `missing field "${problem.path}"` : `field "${problem.path}" ${problem.reason}`;
}

/**
 * Finds the first problem in a list of chat messages, or `undefined` when it is valid: an array of
 * `{ role, content }` objects with a known role and string content. Extra fields on a message are
 * ignored.
 * @param messages - The value to check.
 * @param requireAssistant - Also require a non-empty list with at least one assistant turn.
 * @returns The path of the offending value (e.g. `"messages[2].role"`), the value and the reason.
 * @internal
 */
export function chatMessagesProblem(messages: unknown, requireAssistant: boolean): FieldProblem | undefined {
  if (!Array.isArray(messages)) return { path: 'messages', value: messages, reason: `must be an array, ${found(messages)}` };
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    const path = `messages[${i}]`;
    if (!isRecord(m)) return { path, value: m, reason: `must be an object with "role" and "content", ${found(m)}` };
    for (const key of ['role', 'content'] as const) {
      if (!hasOwn(m, key)) return { path: `${path}.${key}`, value: undefined, reason: 'is missing' };
      const v = m[key];
      if (typeof v !== 'string') return { path: `${path}.${key}`, value: v, reason: `must be a string, ${found(v)}` };
    }
    if (!ROLES.includes(m.role as ChatRole)) {
      const reason = `is ${previewValue(m.role)}, not a known role; expected "system", "user" or "assistant"`;
      return { path: `${path}.role`, value: m.role, reason };
    }
  }
  if (requireAssistant && messages.length === 0) {
    return { path: 'messages', value: messages, reason: 'is empty; a conversation needs an assistant turn' };
  }
  if (requireAssistant && !messages.some((m) => (m as ChatMessage).role === 'assistant')) {
    return { path: 'messages', value: messages, reason: 'has no assistant turn; there is nothing to train on' };
  }
  return undefined;
}

/**
 * Finds the first problem in a conversation that candidate replies answer (a ranking's or a label
 * request's `messages`), or `undefined` when it is valid: valid chat messages (see
 * {@link chatMessagesProblem}), at least one, the last not an assistant turn (the replies are the
 * assistant's next turn).
 * @param messages - The value to check.
 * @returns The path of the offending value (e.g. `"messages[3].role"`), the value and the reason.
 * @internal
 */
export function conversationPromptProblem(messages: unknown): FieldProblem | undefined {
  const problem = chatMessagesProblem(messages, false);
  if (problem !== undefined) return problem;
  const list = messages as ChatMessage[];
  if (list.length === 0) return { path: 'messages', value: list, reason: 'is empty; the replies need a conversation with at least one turn' };
  const last = list.length - 1;
  if ((list[last] as ChatMessage).role === 'assistant') {
    return { path: `messages[${last}].role`, value: 'assistant', reason: 'is the last turn; the conversation must end with a user (or system) turn, which the replies answer' };
  }
  return undefined;
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
