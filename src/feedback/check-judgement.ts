/**
 * Checks of what a {@link Labeler} returns, shared by the collector (which throws) and the web
 * labeller's server (which answers 400 with the same reason), plus the request checks every labeller
 * runs before showing an item.
 * @module
 */
import { ConfigError, InputError, previewValue } from '../errors';
import type { Judgement, LabelRequest } from './types';
import { conversationPromptProblem } from '../data/validate';
import { isRecord } from '../io/objects';

/** Ratings are integers on this scale, 1 (worst) to 7 (best). */
export const RATING_MIN = 1;
/** See {@link RATING_MIN}. */
export const RATING_MAX = 7;


function rankingProblem(ranking: unknown, k: number): string | undefined {
  if (!Array.isArray(ranking)) return '"ranking" must be an array of integer ranks';
  if (ranking.length !== k) return `"ranking" has ${ranking.length} entries; there are ${k} responses`;
  for (let i = 0; i < k; i++) {
    const r: unknown = ranking[i];
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= k) {
      return `"ranking[${i}]" = ${previewValue(r)} must be an integer in [0, ${k}) (0 = best)`;
    }
  }
  if (new Set(ranking).size === 1) return `all ${k} responses are tied; skip the item instead (a full tie teaches nothing)`;
  return undefined;
}

function ratingsProblem(ratings: unknown, k: number, criteria: readonly string[]): string | undefined {
  if (!isRecord(ratings)) return '"ratings" must be an object mapping criterion to ratings';
  for (const [name, values] of Object.entries(ratings)) {
    if (!criteria.includes(name)) return `"ratings" names criterion ${previewValue(name)}, which was not asked (asked: ${JSON.stringify(criteria)})`;
    if (!Array.isArray(values) || values.length !== k) return `"ratings.${previewValue(name)}" must hold one rating per response (${k})`;
    const bad = values.findIndex((v: unknown) => typeof v !== 'number' || !Number.isInteger(v) || v < RATING_MIN || v > RATING_MAX);
    if (bad >= 0) return `"ratings.${previewValue(name)}[${bad}]" = ${previewValue(values[bad])} must be an integer in [${RATING_MIN}, ${RATING_MAX}]`;
  }
  return undefined;
}

function flaggedProblem(flagged: unknown, k: number): string | undefined {
  if (!Array.isArray(flagged)) return '"flagged" must be an array of response indices';
  const bad = flagged.findIndex((v: unknown) => typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= k);
  if (bad >= 0) return `"flagged[${bad}]" = ${previewValue(flagged[bad])} must be a response index in [0, ${k})`;
  if (new Set(flagged).size !== flagged.length) return '"flagged" lists a response twice';
  return undefined;
}

const RANKED_KEYS = new Set(['kind', 'ranking', 'ratings', 'flagged', 'note']);
const SKIPPED_KEYS = new Set(['kind', 'reason']);

/**
 * What is wrong with a judgement of an item with `k` responses rated on `criteria`, or `undefined`
 * when it is valid. Unknown fields are rejected (a typo such as `"rankings"` must not pass silently).
 * @param value - The judgement (any value: it may come from JSON).
 * @param k - Number of responses of the item.
 * @param criteria - The criteria the item asked for; ratings may name only these.
 * @returns A one-line reason, or `undefined`.
 */
export function judgementProblem(value: unknown, k: number, criteria: readonly string[]): string | undefined {
  if (!isRecord(value)) return 'a judgement must be an object { kind: "ranked" | "skipped", ... }';
  const keys = value.kind === 'ranked' ? RANKED_KEYS : value.kind === 'skipped' ? SKIPPED_KEYS : undefined;
  if (keys === undefined) return `"kind" = ${previewValue(value.kind)} must be "ranked" or "skipped"`;
  const extra = Object.keys(value).find((key) => !keys.has(key));
  if (extra !== undefined) return `unknown field ${previewValue(extra)} in a ${value.kind} judgement`;
  if (value.kind === 'skipped') {
    return value.reason === undefined || typeof value.reason === 'string' ? undefined : '"reason" must be a string';
  }
  return rankingProblem(value.ranking, k)
    ?? (value.ratings === undefined ? undefined : ratingsProblem(value.ratings, k, criteria))
    ?? (value.flagged === undefined ? undefined : flaggedProblem(value.flagged, k))
    ?? (value.note === undefined || typeof value.note === 'string' ? undefined : '"note" must be a string');
}

/**
 * Checks a labeller's judgement of `request` and returns a clean copy (fresh arrays, only the known
 * fields, absent optional fields left out).
 * @param value - What the labeller returned.
 * @param request - The request it judged.
 * @param labeler - The labeller's name, for the error.
 * @returns The judgement.
 * @throws An {@link InputError} naming the labeller and the problem.
 */
export function checkJudgement(value: unknown, request: LabelRequest, labeler: string): Judgement {
  const criteria = request.criteria ?? [];
  const problem = judgementProblem(value, request.responses.length, criteria);
  if (problem !== undefined) throw new InputError(`judgement of labeler ${previewValue(labeler)} for item ${previewValue(request.id)}`, value, problem);
  const j = value as Judgement;
  if (j.kind === 'skipped') return j.reason === undefined ? { kind: 'skipped' } : { kind: 'skipped', reason: j.reason };
  const out: Judgement = { kind: 'ranked', ranking: [...j.ranking] };
  if (j.ratings !== undefined && Object.keys(j.ratings).length > 0) {
    out.ratings = Object.fromEntries(Object.entries(j.ratings).map(([name, v]) => [name, [...v]]));
  }
  if (j.flagged !== undefined && j.flagged.length > 0) out.flagged = [...j.flagged].sort((a, b) => a - b);
  if (j.note !== undefined && j.note !== '') out.note = j.note;
  return out;
}

/**
 * Checks a {@link LabelRequest} before a labeller shows it: a string id and prompt, `messages` (when
 * given) a non-empty conversation of valid turns not ending with an assistant turn, at least two
 * string responses, criteria (when given) distinct non-empty strings.
 * @param request - The request.
 * @throws An {@link InputError} naming the field.
 */
export function checkRequest(request: LabelRequest): void {
  if (!isRecord(request)) throw new InputError('request', request, 'must be a LabelRequest object');
  if (typeof request.id !== 'string' || request.id === '') throw new InputError('request.id', request.id, 'must be a non-empty string');
  if (typeof request.prompt !== 'string') throw new InputError('request.prompt', request.prompt, 'must be a string');
  if (request.messages !== undefined) {
    const problem = conversationPromptProblem(request.messages);
    if (problem !== undefined) throw new InputError(`request.${problem.path}`, problem.value, problem.reason);
  }
  const r: unknown = request.responses;
  if (!Array.isArray(r) || r.length < 2) throw new InputError('request.responses', r, 'must be an array of at least 2 strings');
  r.forEach((s: unknown, i) => {
    if (typeof s !== 'string') throw new InputError(`request.responses[${i}]`, s, 'must be a string');
  });
  checkCriteria(request.criteria, 'request.criteria');
}

/**
 * Checks a criteria list: an array of distinct non-empty strings, or `undefined`.
 * @param criteria - The list.
 * @param param - Its name in the error.
 * @param option - Throw a {@link ConfigError} (an option) instead of an {@link InputError}.
 * @throws An {@link InputError} or {@link ConfigError} naming the entry.
 */
export function checkCriteria(criteria: unknown, param: string, option = false): void {
  const fail = (name: string, value: unknown, reason: string): never => {
    throw option ? new ConfigError(name, value, reason) : new InputError(name, value, reason);
  };
  if (criteria === undefined) return;
  if (!Array.isArray(criteria)) fail(param, criteria, 'must be an array of criterion names');
  (criteria as unknown[]).forEach((c: unknown, i, all) => {
    if (typeof c !== 'string' || c.trim() === '') fail(`${param}[${i}]`, c, 'must be a non-empty string');
    if (all.indexOf(c) !== i) fail(`${param}[${i}]`, c, 'is listed twice');
  });
}
