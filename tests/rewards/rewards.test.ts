import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  accuracyReward, answersMatch, combineRewards, extractAnswer, extractBoxed, extractGsm8kAnswer, extractLastNumber,
  formatReward, parseNumber, type ColumnRewardSample,
} from '../../src/rewards/index';
import { ConfigError, InputError } from '../../src/errors';

const sample = (response: string, cols: Record<string, unknown> = {}): ColumnRewardSample => ({ prompt: 'q', response, promptIds: [1], responseIds: [2], ...cols });

describe('answer extraction', () => {
  it('GSM8K: the first #### line, commas removed, as the reference grader', () => {
    expect(extractGsm8kAnswer('Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 72')).toBe('72');
    expect(extractGsm8kAnswer('so\n#### 1,234')).toBe('1234');
    expect(extractGsm8kAnswer('#### -5\n#### 7')).toBe('-5');
    expect(extractGsm8kAnswer('#### 3.5')).toBe('3.5');
    expect(extractGsm8kAnswer('the answer is 4')).toBeUndefined();
    expect(extractGsm8kAnswer('#### ,')).toBeUndefined();
  });

  it('boxed: the last \\boxed{}, nested braces balanced; unterminated gives undefined', () => {
    expect(extractBoxed('first \\boxed{1} then \\boxed{\\frac{3}{4}}')).toBe('\\frac{3}{4}');
    expect(extractBoxed('\\fbox{ 12 }')).toBe('12');
    expect(extractBoxed('\\boxed{12')).toBeUndefined();
    expect(extractBoxed('no box')).toBeUndefined();
  });

  it('last number, and auto = boxed, then ####, then last number', () => {
    expect(extractLastNumber('I have 3 apples and 1,200 pears, so -4.5')).toBe('-4.5');
    expect(extractLastNumber('ratio 3/4')).toBe('3/4');
    expect(extractLastNumber('none')).toBeUndefined();
    expect(extractAnswer('7 then \\boxed{9} and 11')).toBe('9');
    expect(extractAnswer('7\n#### 8\nthen 11')).toBe('8');
    expect(extractAnswer('7 then 11')).toBe('11');
    expect(extractAnswer('#### 8', 'last-number')).toBe('8');
  });

  it('parseNumber reads integers, decimals, commas, $, %, fractions and rejects the rest', () => {
    expect(parseNumber('72')).toBe(72);
    expect(parseNumber(' $1,234.50 ')).toBe(1234.5);
    expect(parseNumber('50%')).toBe(50);
    expect(parseNumber('3/4')).toBe(0.75);
    expect(parseNumber('-\\frac{1}{2}')).toBe(-0.5);
    expect(parseNumber('\\dfrac{6}{4}')).toBe(1.5);
    expect(parseNumber('72.')).toBe(72);
    expect(parseNumber('1/0')).toBeUndefined();
    expect(parseNumber('x+1')).toBeUndefined();
    expect(parseNumber('')).toBeUndefined();
  });

  it('property: any integer written with thousands commas after #### round-trips', () => {
    fc.assert(fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.string({ maxLength: 20 }).filter((s) => !s.includes('#')), (n, junk) => {
      const text = `${junk}\n#### ${n.toLocaleString('en-US')}`;
      expect(parseNumber(extractGsm8kAnswer(text) as string)).toBe(n);
      expect(answersMatch(extractAnswer(text), String(n))).toBe(true);
    }));
  });
});

describe('matching and reward functions', () => {
  it('exact and tolerance matching, numeric before string', () => {
    // Integers compare exactly at any size (as floats, 2^53 + 1 would equal 2^53).
    expect(answersMatch('9007199254740993', '9007199254740992')).toBe(false);
    expect(answersMatch('12,345,678,901,234,567', '12345678901234567')).toBe(true);
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: -3n, max: 3n }), (a, d) => {
      expect(answersMatch(String(a + d), String(a))).toBe(d === 0n);
    }), { numRuns: 200 });
    expect(answersMatch('72.0', '72')).toBe(true);
    expect(answersMatch('72.01', '72')).toBe(false);
    expect(answersMatch('72.01', '72', { tolerance: 1e-3 })).toBe(true);
    expect(answersMatch(' Paris', 'paris')).toBe(true);
    expect(answersMatch(undefined, '1')).toBe(false);
    expect(() => answersMatch('1', '1', { tolerance: -1 })).toThrow(ConfigError);
  });

  it('accuracyReward reads the gold column (number, answer string or a whole GSM8K solution)', async () => {
    const r = accuracyReward();
    expect(await r([sample('so \\boxed{72}', { answer: 72 }), sample('it is 71', { answer: 'work...\n#### 72' }), sample('#### 5', { answer: '5' })])).toEqual([1, 0, 1]);
    const custom = accuracyReward({ column: 'solution', format: 'gsm8k', correct: 2, wrong: -1 });
    expect(await custom([sample('#### 3', { solution: '3' }), sample('3', { solution: '3' })])).toEqual([2, -1]);
    expect(() => r([sample('1')])).toThrow(InputError);
    expect(() => accuracyReward({ format: 'latex' as never })).toThrow(ConfigError);
  });

  it('formatReward anchors the whole response; combineRewards weights and sums', async () => {
    const f = formatReward();
    expect(await f([sample('<think>hm</think>\n<answer>4</answer>'), sample('x <think>hm</think><answer>4</answer>'), sample('<answer>4</answer>')])).toEqual([1, 0, 0]);
    const both = combineRewards([{ reward: accuracyReward() }, { reward: formatReward(/.*\d/), weight: 0.5 }]);
    expect(await both([sample('7', { answer: 7 }), sample('none', { answer: 7 })])).toEqual([1.5, 0]);
    expect(() => combineRewards([])).toThrow(ConfigError);
  });
});
