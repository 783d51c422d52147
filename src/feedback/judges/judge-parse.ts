/**
 * Reading a judge's answer: the ranking line `RANKING: 2 > 1 > 3` (or a JSON `{"ranking": [2, 1, 3]}`)
 * anywhere in prose or code fences, with `Response 2` / `#2` / `[2]` labels, `>` `,` `;` `→` between
 * places and `=` between ties. Every response must appear exactly once; nothing is guessed.
 * Also: rankings from scores, and mapping a ranking of shuffled responses back.
 * @module
 */

/** A parsed answer: groups of 0-based response indices, best group first (a group of 2+ is a tie). */
export type RankingParse = RankingParsed | RankingRefused;

/** An answer that was read. */
export interface RankingParsed {
  /** Discriminant. */
  ok: true;
  /** 0-based response indices, best group first; a group of two or more is a tie. */
  groups: number[][];
}

/** An answer that could not be read. */
export interface RankingRefused {
  /** Discriminant. */
  ok: false;
  /** Why, e.g. `"response 3 missing from the ranking"`. */
  reason: string;
}

const RANKING_LINE = /^[\s>*_#`-]*(?:final\s+)?ranking[\s*_`]*[:=]\s*(.*)$/i;
const ITEM = /^(?:response|resp\.?|answer|candidate|r)?\s*(?:no\.?|number|#)?\s*(\d+)$/i;

function stripFences(text: string): string {
  return text.replace(/```[a-z0-9_-]*[ \t]*\n?/gi, '\n');
}

/** The list after the last `RANKING:` label (or on the line after it), if any. */
function rankingLine(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = RANKING_LINE.exec(lines[i] as string);
    if (m === null) continue;
    const rest = (m[1] as string).trim();
    if (rest !== '') return rest;
    const next = lines.slice(i + 1).find((l) => l.trim() !== '');
    if (next !== undefined) return next.trim();
  }
  return undefined;
}

function readItem(token: string): number | string {
  const t = token.replace(/[*_`"'[\](){}]/g, ' ').replace(/\.\s*$/, '').trim();
  const m = ITEM.exec(t);
  return m === null ? `cannot read ${JSON.stringify(token.trim())} as a response number` : Number(m[1]);
}

/** Parses `2 > 1 = 3` style lists into 1-based groups. */
function parseList(list: string): number[][] | string {
  const cleaned = list
    .replace(/\((?![\s#]*\d+\s*\))[^)]*\)/g, ' ') // drop parenthetical remarks, keep "(2)" labels
    .replace(/->|=>|→|≻|»|>>/g, '>')
    .replace(/[≈~]|==/g, '=')
    .replace(/[.\s]+$/, '');
  const groups: number[][] = [];
  for (const place of cleaned.split(/[>,;]|\bthen\b/i)) {
    const group: number[] = [];
    for (const token of place.split('=')) {
      if (token.trim() === '') return `empty place in ${JSON.stringify(list)}`;
      const item = readItem(token);
      if (typeof item === 'string') return item;
      group.push(item);
    }
    groups.push(group);
  }
  return groups;
}

function parseJsonRanking(text: string): number[][] | string | undefined {
  const objects = text.match(/\{[^{}]*\}/g) ?? [];
  for (let i = objects.length - 1; i >= 0; i--) {
    let value: unknown;
    try {
      value = JSON.parse(objects[i] as string);
    } catch {
      continue;
    }
    const ranking = (value as { ranking?: unknown }).ranking;
    if (!Array.isArray(ranking)) continue;
    const groups: number[][] = [];
    for (const entry of ranking) {
      const members = Array.isArray(entry) ? entry : [entry];
      const group: number[] = [];
      for (const m of members) {
        const item = typeof m === 'number' ? m : typeof m === 'string' ? readItem(m) : `cannot read ${JSON.stringify(m)} as a response number`;
        if (typeof item === 'string') return item;
        group.push(item);
      }
      if (group.length === 0) return 'empty tie group in the JSON ranking';
      groups.push(group);
    }
    return groups;
  }
  return undefined;
}

/** Checks that 1-based groups name each of 1..k exactly once; returns 0-based groups. */
export function checkGroups(groups: readonly (readonly number[])[], k: number, allowTies: boolean): RankingParse {
  const seen = new Set<number>();
  for (const group of groups) {
    for (const n of group) {
      if (!Number.isInteger(n) || n < 1 || n > k) return { ok: false, reason: `response ${n} does not exist (there are ${k}, numbered 1 to ${k})` };
      if (seen.has(n)) return { ok: false, reason: `response ${n} appears more than once in the ranking` };
      seen.add(n);
    }
    if (group.length > 1 && !allowTies) return { ok: false, reason: `responses ${group.join(' = ')} are tied, but ties are not allowed (allowTies: false)` };
  }
  const missing = Array.from({ length: k }, (_, i) => i + 1).filter((n) => !seen.has(n));
  if (missing.length > 0) return { ok: false, reason: `response${missing.length > 1 ? 's' : ''} ${missing.join(', ')} missing from the ranking` };
  if (groups.length === 1 && k > 1) return { ok: false, reason: `all ${k} responses are tied; a full tie ranks nothing` };
  return { ok: true, groups: groups.map((g) => g.map((n) => n - 1)) };
}

/**
 * Reads a judge's answer about `k` responses numbered 1..k.
 * @param text - The judge's full answer.
 * @param k - Number of responses.
 * @param allowTies - Accept `=` ties.
 * @returns The groups (0-based, best first), or why the answer cannot be read.
 */
export function parseJudgeAnswer(text: string, k: number, allowTies: boolean): RankingParse {
  const body = stripFences(text);
  const line = rankingLine(body);
  const groups = line !== undefined ? parseList(line) : parseJsonRanking(body);
  if (groups === undefined) return { ok: false, reason: 'the answer has no "RANKING:" line and no JSON {"ranking": [...]}' };
  if (typeof groups === 'string') return { ok: false, reason: groups };
  return checkGroups(groups, k, allowTies);
}

/** `ranking[i]` = number of responses placed strictly before response `i` (0 = best; ties share a rank). */
export function rankingFromGroups(groups: readonly (readonly number[])[], k: number): number[] {
  const ranking = new Array<number>(k).fill(0);
  let before = 0;
  for (const group of groups) {
    for (const i of group) ranking[i] = before;
    before += group.length;
  }
  return ranking;
}

/** `ranking[i]` = number of scores strictly higher than `scores[i]` (higher score = better). */
export function rankingFromScores(scores: readonly number[]): number[] {
  return scores.map((s) => scores.reduce((n, t) => n + (t > s ? 1 : 0), 0));
}

/** Maps a ranking of shown responses back: `shown[d]` is the original index of the response shown at `d`. */
export function unshuffleRanking(ranking: readonly number[], shown: readonly number[]): number[] {
  const out = new Array<number>(ranking.length).fill(0);
  shown.forEach((original, d) => {
    out[original] = ranking[d] as number;
  });
  return out;
}
