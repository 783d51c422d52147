// matchRecords pairs two labellers' records of the same items for agreement().
import { describe, expect, it } from 'vitest';
import { matchRecords } from '../../src/feedback/analysis/match-records';
import { agreement } from '../../src/feedback/analysis/agreement';
import { promptId } from '../../src/feedback/collect/collector';
import { InputError } from '../../src/errors';

const rec = (prompt: string, ranking: number[], responses = ['x', 'y', 'z']) => ({ prompt, responses, ranking });

describe('matchRecords', () => {
  it('pairs items by prompt id in the first file\'s order and lists the unmatched ones', () => {
    const person = [rec('p1', [0, 1, 2]), rec('p2', [2, 1, 0]), rec('p3', [0, 0, 1])];
    const judge = [rec('p4', [0, 1, 2]), rec('p2', [2, 0, 1]), { ...rec('p1', [0, 1, 2]), id: promptId('p1') }];
    const m = matchRecords(person, judge);
    expect(m.ids).toEqual([promptId('p1'), promptId('p2')]);
    expect(m.a).toEqual([[0, 1, 2], [2, 1, 0]]);
    expect(m.b).toEqual([[0, 1, 2], [2, 0, 1]]);
    expect(m.onlyA).toEqual([promptId('p3')]);
    expect(m.onlyB).toEqual([promptId('p4')]);
    const stats = agreement(m.a, m.b);
    expect(stats.items).toBe(2);
    expect(stats.pairs).toBe(6);
    expect(stats.pairwiseAgreement).toBeCloseTo(5 / 6, 12); // item 2: the two disagree on y vs z only
  });

  it('refuses items whose responses differ, and an item judged twice on one side', () => {
    expect(() => matchRecords([rec('p', [0, 1, 2])], [rec('p', [0, 1, 2], ['x', 'z', 'y'])])).toThrow(/different responses/);
    expect(() => matchRecords([rec('p', [0, 1, 2]), rec('p', [1, 0, 2])], [])).toThrow(InputError);
  });
});
