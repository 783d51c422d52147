/**
 * Agreement between two labellers who ranked the same items: how often they order a pair of
 * responses the same way, pick the same best response, their rank correlation (Kendall's tau-b) and
 * chance-corrected agreement on pairwise preferences (Cohen's kappa). Use it to compare a person with
 * a judge model (or two people) before trusting the judge's labels.
 * @module
 */
import { InputError } from '../../errors';
import type { Judgement, RankedJudgement } from '../types';

/** A ranking as a labeller gave it: a {@link RankedJudgement} or its `ranking` array (0 = best, ties equal). */
export type RankingInput = RankedJudgement | readonly number[];

/** What {@link agreement} returns. */
export interface AgreementStats {
  /** Items compared. */
  items: number;
  /** Response pairs compared (K(K-1)/2 per item). */
  pairs: number;
  /** Fraction of pairs both order the same way, a tie counting as its own answer (a tie agrees only with a tie). */
  pairwiseAgreement: number;
  /** Pairs that both labellers ordered (neither tied them). */
  decisivePairs: number;
  /** Among {@link AgreementStats.decisivePairs}, the fraction ordered the same way; `null` when there are none. */
  decisiveAgreement: number | null;
  /** Fraction of items where both put the same set of responses first (the best, ties included). */
  top1Agreement: number;
  /** Mean Kendall tau-b over the items where it is defined; `null` when it is defined for none. */
  meanKendallTau: number | null;
  /** Items where tau-b is defined (it is not when one labeller tied every response). */
  tauItems: number;
  /**
   * Cohen's kappa of the pairwise preferences (categories: first better, tie, second better), each pair
   * counted in both orientations so the value does not depend on the order of the responses; `null`
   * when chance agreement is 1 (both labellers tied everything).
   */
  cohensKappa: number | null;
}

function rankingOf(x: RankingInput | Judgement, where: string): readonly number[] {
  if (Array.isArray(x)) return x as readonly number[];
  const j = x as Judgement;
  if (typeof j === 'object' && j !== null && j.kind === 'ranked' && Array.isArray(j.ranking)) return j.ranking;
  if (typeof j === 'object' && j !== null && j.kind === 'skipped') throw new InputError(where, j, 'is a skipped judgement; drop the item from both lists first');
  throw new InputError(where, x, 'must be a RankedJudgement or a ranking array');
}

function checkRanking(r: readonly number[], where: string): void {
  if (r.length < 2) throw new InputError(where, r, 'must rank at least 2 responses');
  r.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InputError(`${where}[${i}]`, v, 'must be an integer rank >= 0 (0 = best)');
  });
}

/** `-1` when response i is preferred to j, `1` when j is preferred, `0` on a tie. */
function preference(r: readonly number[], i: number, j: number): number {
  return Math.sign((r[i] as number) - (r[j] as number));
}

/**
 * Kendall's tau-b of two rankings of the same responses (ties corrected); `null` when one ranking
 * ties everything (the denominator is 0).
 */
export function kendallTauB(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length) throw new InputError('b', b, `must have the same length as a (${a.length})`);
  let s = 0;
  let n1 = 0; // pairs not tied in a
  let n2 = 0; // pairs not tied in b
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const pa = preference(a, i, j);
      const pb = preference(b, i, j);
      s += pa * pb;
      if (pa !== 0) n1++;
      if (pb !== 0) n2++;
    }
  }
  return n1 === 0 || n2 === 0 ? null : s / Math.sqrt(n1 * n2);
}

function best(r: readonly number[]): string {
  const m = Math.min(...r);
  return r.flatMap((v, i) => (v === m ? [i] : [])).join(',');
}

/**
 * Agreement statistics of two labellers on the same items, in the same order.
 * @param a - The first labeller's rankings (judgements or ranking arrays).
 * @param b - The second labeller's rankings of the same items (same K per item).
 * @returns See {@link AgreementStats}.
 * @throws An {@link InputError} when the lists differ in length or are empty, an item's K differs
 *   between the labellers, a ranking is invalid, or an entry is a skipped judgement.
 */
export function agreement(a: readonly (RankingInput | Judgement)[], b: readonly (RankingInput | Judgement)[]): AgreementStats {
  if (!Array.isArray(a) || !Array.isArray(b)) throw new InputError('a, b', [a, b], 'must both be arrays');
  if (a.length !== b.length) throw new InputError('b.length', b.length, `must equal a.length = ${a.length} (the same items in the same order)`);
  if (a.length === 0) throw new InputError('a', a, 'must hold at least one item');
  const counts = { pairs: 0, same: 0, decisive: 0, decisiveSame: 0, top1: 0, tauSum: 0, tauItems: 0 };
  const tiesA = { ties: 0 };
  const tiesB = { ties: 0 };
  for (let n = 0; n < a.length; n++) {
    const ra = rankingOf(a[n] as RankingInput, `a[${n}]`);
    const rb = rankingOf(b[n] as RankingInput, `b[${n}]`);
    checkRanking(ra, `a[${n}].ranking`);
    checkRanking(rb, `b[${n}].ranking`);
    if (ra.length !== rb.length) throw new InputError(`b[${n}].ranking.length`, rb.length, `must equal a[${n}].ranking.length = ${ra.length} (the same K responses)`);
    for (let i = 0; i < ra.length; i++) {
      for (let j = i + 1; j < ra.length; j++) {
        const pa = preference(ra, i, j);
        const pb = preference(rb, i, j);
        counts.pairs++;
        if (pa === pb) counts.same++;
        if (pa === 0) tiesA.ties++;
        if (pb === 0) tiesB.ties++;
        if (pa !== 0 && pb !== 0) {
          counts.decisive++;
          if (pa === pb) counts.decisiveSame++;
        }
      }
    }
    if (best(ra) === best(rb)) counts.top1++;
    const tau = kendallTauB(ra, rb);
    if (tau !== null) {
      counts.tauSum += tau;
      counts.tauItems++;
    }
  }
  const po = counts.same / counts.pairs;
  const ta = tiesA.ties / counts.pairs;
  const tb = tiesB.ties / counts.pairs;
  // Both orientations of every pair: P(first better) = P(second better) = (1 - P(tie)) / 2 for each labeller.
  const pe = ta * tb + 2 * ((1 - ta) / 2) * ((1 - tb) / 2);
  return {
    items: a.length,
    pairs: counts.pairs,
    pairwiseAgreement: po,
    decisivePairs: counts.decisive,
    decisiveAgreement: counts.decisive === 0 ? null : counts.decisiveSame / counts.decisive,
    top1Agreement: counts.top1 / a.length,
    meanKendallTau: counts.tauItems === 0 ? null : counts.tauSum / counts.tauItems,
    tauItems: counts.tauItems,
    cohensKappa: pe >= 1 ? null : (po - pe) / (1 - pe),
  };
}
