import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkGroups, parseJudgeAnswer, rankingFromGroups, rankingFromScores, unshuffleRanking } from '../../src/feedback/judges/judge-parse';
import { judgeMessages, DEFAULT_PRINCIPLES } from '../../src/feedback/judges/judge-prompt';

const permutationArb = fc.integer({ min: 2, max: 9 }).chain((k) =>
  fc.shuffledSubarray(Array.from({ length: k }, (_, i) => i + 1), { minLength: k, maxLength: k }));
const labelArb = fc.constantFrom((n: number) => `${n}`, (n: number) => `Response ${n}`, (n: number) => `#${n}`, (n: number) => `[${n}]`,
  (n: number) => `**${n}**`, (n: number) => `response ${n}`, (n: number) => `(${n})`, (n: number) => `R${n}`);
const sepArb = fc.constantFrom(' > ', '>', ', ', ' ; ', ' → ', ' -> ', ' ≻ ', ' >> ');
const wrapArb = fc.constantFrom(
  (line: string) => line,
  (line: string) => `Response 1 is vague; the others are better.\n\n${line}`,
  (line: string) => `Let me think.\n\`\`\`\n${line}\n\`\`\`\nThat is my answer.`,
  (line: string) => `Analysis...\n**${line.replace('RANKING:', 'RANKING:**')}`,
  (line: string) => `Draft: RANKING: 1 > 1\nNo wait.\n${line}.`,
);

describe('parseJudgeAnswer', () => {
  it('reads any permutation in any accepted label, separator and wrapping style (property)', () => {
    fc.assert(fc.property(permutationArb, labelArb, sepArb, wrapArb, fc.boolean(), (perm, label, sep, wrap, finalWord) => {
      const line = `${finalWord ? 'Final ranking' : 'RANKING'}: ${perm.map(label).join(sep)}`;
      const parsed = parseJudgeAnswer(wrap(line), perm.length, false);
      expect(parsed).toEqual({ ok: true, groups: perm.map((n) => [n - 1]) });
    }), { numRuns: 300 });
  });

  it('rejects a ranking with a duplicated, missing or out-of-range response, naming it (property)', () => {
    fc.assert(fc.property(permutationArb, fc.nat(), (perm, pick) => {
      const k = perm.length;
      const i = pick % k;
      const dup = [...perm.slice(0, i), perm[(i + 1) % k] as number, ...perm.slice(i + 1)];
      const missing = perm.filter((_, j) => j !== i);
      const outside = perm.map((n, j) => (j === i ? k + 1 : n));
      const d = parseJudgeAnswer(`RANKING: ${dup.join(' > ')}`, k, false);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(/more than once/);
      const m = parseJudgeAnswer(`RANKING: ${missing.join(' > ')}`, k, false);
      expect(m).toEqual({ ok: false, reason: `response ${perm[i]} missing from the ranking` });
      const o = parseJudgeAnswer(`RANKING: ${outside.join(' > ')}`, k, true);
      expect(o).toEqual({ ok: false, reason: `response ${k + 1} does not exist (there are ${k}, numbered 1 to ${k})` });
    }), { numRuns: 200 });
  });

  it('reads ties only when allowed', () => {
    expect(parseJudgeAnswer('RANKING: 2 = 3 > 1', 3, true)).toEqual({ ok: true, groups: [[1, 2], [0]] });
    expect(parseJudgeAnswer('RANKING: Response 2 ≈ Response 3 > Response 1', 3, true)).toEqual({ ok: true, groups: [[1, 2], [0]] });
    const refused = parseJudgeAnswer('RANKING: 2 = 3 > 1', 3, false);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toMatch(/tied.*allowTies/);
    expect(parseJudgeAnswer('RANKING: 1 = 2 = 3', 3, true)).toEqual({ ok: false, reason: 'all 3 responses are tied; a full tie ranks nothing' });
  });

  it('reads a JSON ranking when there is no RANKING line, ties as nested arrays', () => {
    expect(parseJudgeAnswer('```json\n{"ranking": [3, 1, 2], "why": "3 is exact"}\n```', 3, false)).toEqual({ ok: true, groups: [[2], [0], [1]] });
    expect(parseJudgeAnswer('{"ranking": ["Response 2", "Response 1"]}', 2, false)).toEqual({ ok: true, groups: [[1], [0]] });
    expect(parseJudgeAnswer('{"ranking": [[1, 2], 3]}', 3, true)).toEqual({ ok: true, groups: [[0, 1], [2]] });
    expect(parseJudgeAnswer('{"ranking": [1, {"x": 2}]}', 2, true).ok).toBe(false);
  });

  it('takes the list on the line after a bare RANKING: label, and drops parenthetical remarks', () => {
    expect(parseJudgeAnswer('RANKING:\n\n2 > 1', 2, false)).toEqual({ ok: true, groups: [[1], [0]] });
    expect(parseJudgeAnswer('RANKING: 2 > 1 (response 1 rambles)', 2, false)).toEqual({ ok: true, groups: [[1], [0]] });
  });

  it('refuses answers it cannot read instead of guessing', () => {
    const cases: [string, RegExp][] = [
      ['I prefer the second response.', /no "RANKING:" line/],
      ['RANKING: 2 > 1 because it is better', /cannot read/],
      ['RANKING: 2 > > 1', /empty place/],
      ['RANKING: second > first', /cannot read/],
      ['', /no "RANKING:" line/],
      ['My ranking: 2 > 1', /no "RANKING:" line/],
    ];
    for (const [text, reason] of cases) {
      const r = parseJudgeAnswer(text, 2, false);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    }
  });

  it('never throws and accepts only complete rankings, on arbitrary text (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60 }), fc.integer({ min: 2, max: 6 }), fc.boolean(), (text, k, ties) => {
      const r = parseJudgeAnswer(`RANKING: ${text}`, k, ties);
      if (r.ok) {
        expect(r.groups.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: k }, (_, i) => i));
        if (!ties) expect(r.groups.every((g) => g.length === 1)).toBe(true);
      }
    }), { numRuns: 500 });
  });
});

describe('ranking helpers', () => {
  it('rankingFromScores orders by score and ties equal scores (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 8 }), (scores) => {
      const ranking = rankingFromScores(scores);
      for (let i = 0; i < scores.length; i++) {
        for (let j = 0; j < scores.length; j++) {
          const [si, sj, ri, rj] = [scores[i], scores[j], ranking[i], ranking[j]] as number[];
          expect(Math.sign((rj as number) - (ri as number))).toBe(Math.sign((si as number) - (sj as number)));
        }
      }
      expect(Math.min(...ranking)).toBe(0);
    }));
  });

  it('rankingFromGroups gives competition ranks, and unshuffleRanking maps display positions back (property)', () => {
    expect(rankingFromGroups([[1, 2], [0]], 3)).toEqual([2, 0, 0]);
    fc.assert(fc.property(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 8 }).chain((s) =>
      fc.tuple(fc.constant(s), fc.shuffledSubarray(s.map((_, i) => i), { minLength: s.length, maxLength: s.length }))), ([scores, shown]) => {
      const shownScores = shown.map((i) => scores[i] as number);
      expect(unshuffleRanking(rankingFromScores(shownScores), shown)).toEqual(rankingFromScores(scores));
    }));
  });

  it('checkGroups requires each response exactly once', () => {
    expect(checkGroups([[2], [1]], 2, false)).toEqual({ ok: true, groups: [[1], [0]] });
    expect(checkGroups([[2], [2]], 2, false).ok).toBe(false);
    expect(checkGroups([[1.5], [2]], 2, false).ok).toBe(false);
  });
});

describe('judgeMessages', () => {
  it('numbers the responses, lists the principles and states the answer format', () => {
    const [system, user] = judgeMessages('What is 2+2?', ['4', 'five'], DEFAULT_PRINCIPLES, false, ['helpful']);
    expect(system?.role).toBe('system');
    expect(user?.content).toContain('Response 1:\n<<<\n4\n>>>');
    expect(user?.content).toContain('Response 2:\n<<<\nfive\n>>>');
    expect(user?.content).toContain(`1. ${DEFAULT_PRINCIPLES[0]}`);
    expect(user?.content).toContain('RANKING: a > b');
    expect(user?.content).toContain('helpful');
    expect(user?.content).toMatch(/Do not give ties/);
    expect(judgeMessages('p', ['a', 'b', 'c'], ['x'], true)[1]?.content).toMatch(/Write = instead of >/);
  });
});
