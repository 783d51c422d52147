import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  parseChat,
  parsePair,
  parseRanking,
  parseSFT,
  preferencePairsFromRanking,
} from '../../src/data/index';
import type { RankingExample } from '../../src/data/index';
import { ConfigError, FileFormatError, InputError } from '../../src/errors';

const where = { file: 'data/x.jsonl', line: 7 };

function fileError(fn: () => unknown, ...fragments: string[]): FileFormatError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(FileFormatError);
  const e = err as FileFormatError;
  expect(e.file).toBe('data/x.jsonl');
  expect(e.line).toBe(7);
  expect(e.message.startsWith('data/x.jsonl:7: ')).toBe(true);
  for (const f of fragments) expect(e.message).toContain(f);
  return e;
}

describe('parseSFT', () => {
  it('returns only the known fields, ignoring extras', () => {
    const obj = { prompt: 'p', completion: 'c', id: 3, meta: { a: 1 } };
    const r = parseSFT(obj, where);
    expect(r).toEqual({ prompt: 'p', completion: 'c' });
    expect(r).not.toBe(obj);
  });
  it('accepts empty strings', () => {
    expect(parseSFT({ prompt: '', completion: '' }, where)).toEqual({ prompt: '', completion: '' });
  });
  it('names missing fields, wrong types and non-objects', () => {
    fileError(() => parseSFT({ completion: 'c' }, where), 'missing field "prompt"');
    fileError(() => parseSFT({ prompt: 'p' }, where), 'missing field "completion"');
    fileError(() => parseSFT({ prompt: 3, completion: 'c' }, where), 'field "prompt" must be a string, found number 3');
    fileError(() => parseSFT({ prompt: 'p', completion: null }, where), 'field "completion"', 'found null');
    fileError(() => parseSFT({ prompt: ['a'], completion: 'c' }, where), 'field "prompt"', 'found array');
    fileError(() => parseSFT([1, 2], where), 'expected a JSON object', 'found array');
    fileError(() => parseSFT('text', where), 'expected a JSON object', 'found string');
    fileError(() => parseSFT(null, where), 'found null');
  });
  it('does not take inherited properties as fields', () => {
    fileError(() => parseSFT(Object.create({ prompt: 'p', completion: 'c' }), where), 'missing field "prompt"');
  });
});

describe('parsePair', () => {
  it('accepts TRL preference rows', () => {
    expect(parsePair({ prompt: 'p', chosen: 'a', rejected: 'b', score: 1 }, where)).toEqual({
      prompt: 'p',
      chosen: 'a',
      rejected: 'b',
    });
  });
  it('names the bad field', () => {
    fileError(() => parsePair({ chosen: 'a', rejected: 'b' }, where), 'missing field "prompt"');
    fileError(() => parsePair({ prompt: 'p', chosen: 'a' }, where), 'missing field "rejected"');
    fileError(() => parsePair({ prompt: 'p', chosen: {}, rejected: 'b' }, where), 'field "chosen"', 'found object');
  });
});

describe('parseRanking', () => {
  const ok = { prompt: 'p', responses: ['a', 'b', 'c'], ranking: [2, 0, 1] };
  it('accepts valid rankings, with ties by default', () => {
    expect(parseRanking(ok, where)).toEqual(ok);
    const tied = { prompt: 'p', responses: ['a', 'b', 'c'], ranking: [0, 0, 2] };
    expect(parseRanking(tied, where)).toEqual(tied);
  });
  it('names every kind of problem', () => {
    const bad = (patch: object): unknown => ({ ...ok, ...patch });
    fileError(() => parseRanking(bad({ responses: 'a' }), where), 'field "responses" must be an array', 'found string');
    fileError(() => parseRanking(bad({ responses: ['a', 2, 'c'] }), where), 'field "responses[1]" must be a string', 'found number 2');
    fileError(() => parseRanking(bad({ responses: ['a'], ranking: [0] }), where), '"responses" has 1 entry', 'at least 2');
    fileError(() => parseRanking(bad({ responses: [], ranking: [] }), where), '"responses" has 0 entries');
    fileError(() => parseRanking(bad({ ranking: [0, 1] }), where), '"ranking" has 2 entries but "responses" has 3');
    fileError(() => parseRanking(bad({ ranking: [0, 1, 3] }), where), 'field "ranking[2]" = 3 must be an integer in [0, 3)');
    fileError(() => parseRanking(bad({ ranking: [0, -1, 2] }), where), 'field "ranking[1]" = -1');
    fileError(() => parseRanking(bad({ ranking: [0, 1.5, 2] }), where), 'field "ranking[1]" = 1.5 must be an integer');
    fileError(() => parseRanking(bad({ ranking: [0, '1', 2] }), where), 'field "ranking[1]" must be a number, found string "1"');
    fileError(() => parseRanking(bad({ ranking: { 0: 1 } }), where), 'field "ranking" must be an array');
    fileError(() => parseRanking(bad({ ranking: [1, 1, 1] }), where), 'all 3 responses are tied');
    fileError(() => parseRanking({ prompt: 'p', responses: ['a', 'b'] }, where), 'missing field "ranking"');
  });
  it('rejects duplicate ranks when allowTies is false', () => {
    const tied = { prompt: 'p', responses: ['a', 'b', 'c'], ranking: [0, 2, 0] };
    fileError(() => parseRanking(tied, where, { allowTies: false }), '"ranking[0]" and "ranking[2]" are both 0', 'allowTies');
    expect(parseRanking(ok, where, { allowTies: false })).toEqual(ok);
  });
  it('rejects a non-boolean allowTies', () => {
    expect(() => parseRanking(ok, where, { allowTies: 'no' as unknown as boolean })).toThrow(ConfigError);
  });
});

describe('parseChat', () => {
  const msgs = [
    { role: 'system', content: 's' },
    { role: 'user', content: 'u', name: 'bob' },
    { role: 'assistant', content: 'a' },
  ];
  it('accepts valid conversations and drops extra fields', () => {
    expect(parseChat({ messages: msgs, id: 1 }, where)).toEqual({
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'u' },
        { role: 'assistant', content: 'a' },
      ],
    });
  });
  it('names every kind of problem', () => {
    fileError(() => parseChat({}, where), 'missing field "messages"');
    fileError(() => parseChat({ messages: 'hi' }, where), 'field "messages" must be an array');
    fileError(() => parseChat({ messages: [] }, where), 'field "messages" is empty');
    fileError(() => parseChat({ messages: [msgs[0], 'x'] }, where), 'field "messages[1]" must be an object', 'found string');
    fileError(() => parseChat({ messages: [{ content: 'x' }] }, where), 'missing field "messages[0].role"');
    fileError(() => parseChat({ messages: [{ role: 'user' }] }, where), 'missing field "messages[0].content"');
    fileError(() => parseChat({ messages: [{ role: 1, content: 'x' }] }, where), 'field "messages[0].role" must be a string');
    fileError(
      () => parseChat({ messages: [msgs[1], { role: 'tool', content: 'x' }] }, where),
      'field "messages[1].role" is "tool", not a known role',
    );
    fileError(
      () => parseChat({ messages: [msgs[1], { role: 'assistant', content: null }] }, where),
      'field "messages[1].content" must be a string, found null',
    );
    fileError(() => parseChat({ messages: [msgs[0], msgs[1]] }, where), 'no assistant turn');
  });
});

describe('preferencePairsFromRanking', () => {
  it('orders pairs by index pair and puts the lower rank number first', () => {
    const r: RankingExample = { prompt: 'p', responses: ['a', 'b', 'c'], ranking: [2, 0, 1] };
    expect(preferencePairsFromRanking(r)).toEqual([
      { prompt: 'p', chosen: 'b', rejected: 'a' },
      { prompt: 'p', chosen: 'c', rejected: 'a' },
      { prompt: 'p', chosen: 'b', rejected: 'c' },
    ]);
  });
  it('rejects mismatched lengths', () => {
    expect(() => preferencePairsFromRanking({ prompt: 'p', responses: ['a', 'b'], ranking: [0] })).toThrow(InputError);
  });
  it('yields one correctly ordered pair per pair of distinct ranks, and no duplicates', () => {
    const arb = fc
      .integer({ min: 2, max: 9 })
      .chain((k) => fc.tuple(fc.constant(k), fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: k, maxLength: k })));
    fc.assert(
      fc.property(arb, ([k, ranking]) => {
        const responses = Array.from({ length: k }, (_, i) => `r${i}`);
        const pairs = preferencePairsFromRanking({ prompt: 'p', responses, ranking });
        let distinct = 0;
        for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) if (ranking[i] !== ranking[j]) distinct++;
        expect(pairs.length).toBe(distinct);
        if (new Set(ranking).size === k) expect(pairs.length).toBe((k * (k - 1)) / 2);
        const seen = new Set<string>();
        for (const p of pairs) {
          const c = Number(p.chosen.slice(1));
          const r = Number(p.rejected.slice(1));
          expect(p.prompt).toBe('p');
          expect(ranking[c]!).toBeLessThan(ranking[r]!);
          const key = [Math.min(c, r), Math.max(c, r)].join(',');
          expect(seen.has(key)).toBe(false);
          seen.add(key);
        }
        expect(preferencePairsFromRanking({ prompt: 'p', responses, ranking })).toEqual(pairs);
      }),
      { numRuns: 300 },
    );
  });
});
