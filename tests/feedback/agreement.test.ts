import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { agreement, kendallTauB } from '../../src/feedback/analysis/agreement';
import { InputError } from '../../src/errors';

/** Items with K in [2, 6]; each labeller's ranks in [0, K) (ties possible). */
const itemsArb = fc.array(fc.integer({ min: 2, max: 6 }), { minLength: 1, maxLength: 8 }).chain((ks) => fc.tuple(
  fc.tuple(...ks.map((k) => fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: k, maxLength: k }))),
  fc.tuple(...ks.map((k) => fc.array(fc.integer({ min: 0, max: k - 1 }), { minLength: k, maxLength: k }))),
));
const permArb = fc.integer({ min: 2, max: 7 }).chain((k) => fc.shuffledSubarray(Array.from({ length: k }, (_, i) => i), { minLength: k, maxLength: k }));

describe('agreement', () => {
  it('is symmetric (property)', () => {
    fc.assert(fc.property(itemsArb, ([a, b]) => {
      expect(agreement(b, a)).toEqual(agreement(a, b));
    }), { numRuns: 200 });
  });

  it('a labeller agrees with itself completely (property)', () => {
    fc.assert(fc.property(itemsArb, ([a]) => {
      const s = agreement(a, a);
      expect(s.pairwiseAgreement).toBe(1);
      expect(s.top1Agreement).toBe(1);
      if (s.decisiveAgreement !== null) expect(s.decisiveAgreement).toBe(1);
      if (s.meanKendallTau !== null) expect(s.meanKendallTau).toBeCloseTo(1, 12);
      if (s.cohensKappa !== null) expect(s.cohensKappa).toBeCloseTo(1, 12);
    }), { numRuns: 200 });
  });

  it('a reversed strict ranking gives tau -1, kappa -1 and no agreement (property)', () => {
    fc.assert(fc.property(fc.array(permArb, { minLength: 1, maxLength: 5 }), (rankings) => {
      const reversed = rankings.map((r) => r.map((v) => r.length - 1 - v));
      const s = agreement(rankings, reversed);
      expect(s.meanKendallTau).toBeCloseTo(-1, 12);
      expect(s.pairwiseAgreement).toBe(0);
      expect(s.decisiveAgreement).toBe(0);
      expect(s.top1Agreement).toBe(0);
      expect(s.cohensKappa).toBeCloseTo(-1, 12);
    }));
  });

  it('stays within its bounds and counts items and pairs (property)', () => {
    fc.assert(fc.property(itemsArb, ([a, b]) => {
      const s = agreement(a, b);
      expect(s.items).toBe(a.length);
      expect(s.pairs).toBe(a.reduce((n, r) => n + (r.length * (r.length - 1)) / 2, 0));
      for (const v of [s.pairwiseAgreement, s.top1Agreement, s.decisiveAgreement]) if (v !== null) expect(v >= 0 && v <= 1).toBe(true);
      if (s.meanKendallTau !== null) expect(Math.abs(s.meanKendallTau)).toBeLessThanOrEqual(1 + 1e-12);
      if (s.cohensKappa !== null) expect(s.cohensKappa).toBeLessThanOrEqual(1 + 1e-12);
      expect(s.decisivePairs).toBeLessThanOrEqual(s.pairs);
      expect(s.tauItems).toBeLessThanOrEqual(s.items);
    }), { numRuns: 200 });
  });

  it('does not depend on the order the responses are listed in (property)', () => {
    fc.assert(fc.property(itemsArb, fc.nat(), ([a, b], seed) => {
      const perms = a.map((r, n) => {
        const idx = r.map((_, i) => i);
        return idx.sort((x, y) => ((x * 7919 + seed + n) % 13) - ((y * 7919 + seed + n) % 13) || x - y);
      });
      const apply = (rs: number[][]) => rs.map((r, n) => (perms[n] as number[]).map((i) => r[i] as number));
      const s = agreement(a, b);
      const t = agreement(apply(a), apply(b));
      expect(t.pairwiseAgreement).toBeCloseTo(s.pairwiseAgreement, 12);
      expect(t.top1Agreement).toBe(s.top1Agreement);
      if (s.cohensKappa === null) expect(t.cohensKappa).toBeNull();
      else expect(t.cohensKappa).toBeCloseTo(s.cohensKappa, 12);
      if (s.meanKendallTau === null) expect(t.meanKendallTau).toBeNull();
      else expect(t.meanKendallTau).toBeCloseTo(s.meanKendallTau, 12);
    }), { numRuns: 200 });
  });

  it('matches hand-computed values, ties handled explicitly', () => {
    // pairs (0,1): disagree, (0,2) and (1,2): agree; chance 1/2 -> kappa 1/3
    const s = agreement([[0, 1, 2]], [{ kind: 'ranked', ranking: [1, 0, 2] }]);
    expect(s.pairwiseAgreement).toBeCloseTo(2 / 3, 12);
    expect(s.cohensKappa).toBeCloseTo(1 / 3, 12);
    expect(s.meanKendallTau).toBeCloseTo(1 / 3, 12);
    expect(s.top1Agreement).toBe(0);
    // a tie agrees only with a tie: a ties 0 and 1, b orders them
    const t = agreement([[0, 0, 2]], [[0, 1, 2]]);
    expect(t.pairwiseAgreement).toBeCloseTo(2 / 3, 12);
    expect(t.decisivePairs).toBe(2);
    expect(t.decisiveAgreement).toBe(1);
    expect(t.top1Agreement).toBe(0); // best sets {0,1} and {0} differ
    // tau-b with ties (scipy.stats.kendalltau([1,2,3,4], [1,1,2,3]) = 0.9128709291752769)
    expect(kendallTauB([0, 1, 2, 3], [0, 0, 1, 2])).toBeCloseTo(0.9128709291752769, 12);
    // all tied: tau undefined, kappa undefined when both tie everything
    const u = agreement([[0, 0]], [[0, 0]]);
    expect(u.meanKendallTau).toBeNull();
    expect(u.tauItems).toBe(0);
    expect(u.cohensKappa).toBeNull();
    expect(u.pairwiseAgreement).toBe(1);
    expect(u.decisiveAgreement).toBeNull();
  });

  it('refuses mismatched lists, K, skipped items and bad ranks with InputError naming them', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => agreement([[0, 1]], []), /b.length/],
      [() => agreement([], []), /at least one item/],
      [() => agreement([[0, 1], [0, 1, 2]], [[0, 1], [0, 1]]), /b\[1\]\.ranking\.length/],
      [() => agreement([{ kind: 'skipped' }], [[0, 1]]), /a\[0\].*skipped/],
      [() => agreement([[0, 1.5]], [[0, 1]]), /a\[0\]\.ranking\[1\]/],
      [() => agreement([[0]], [[0]]), /at least 2/],
      [() => agreement([[0, 1]], ['x' as never]), /b\[0\]/],
    ];
    for (const [f, msg] of cases) {
      expect(f).toThrow(InputError);
      expect(f).toThrow(msg);
    }
  });
});
