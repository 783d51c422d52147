/**
 * Pairs up the records two labellers made of the same items (e.g. a person's `comparisons.jsonl` and a
 * judge's), so that {@link agreement} can compare them. Two `PreferenceCollector` sessions with the same
 * policy, `k`, `sampling` and `seed` show the same responses for a prompt; records are matched by the
 * prompt's id and must hold the same responses in the same order.
 * @module
 */
import { InputError } from '../../errors';
import type { RankingExample } from '../../data/types';
import { promptId } from '../collect/collector';

/** Records of two labellers on the same items, in the same order, ready for `agreement(a, b)`. */
export interface MatchedRecords {
  /** Prompt ids of the matched items. */
  ids: string[];
  /** First labeller's rankings of the matched items. */
  a: number[][];
  /** Second labeller's rankings of the same items. */
  b: number[][];
  /** Ids only the first labeller judged. */
  onlyA: string[];
  /** Ids only the second labeller judged. */
  onlyB: string[];
}

function byId(records: readonly RankingExample[], which: string): Map<string, RankingExample> {
  const m = new Map<string, RankingExample>();
  records.forEach((r, i) => {
    const id = (r as { id?: unknown }).id;
    const key = typeof id === 'string' ? id : promptId(r.prompt);
    if (m.has(key)) throw new InputError(`${which}[${i}]`, r.prompt, `judges the same item (id ${key}) as an earlier record`);
    m.set(key, r);
  });
  return m;
}

/**
 * Matches two labellers' ranking records by item.
 * @param a - The first labeller's records (e.g. `readAll(readRankings('person.jsonl'))`).
 * @param b - The second labeller's records.
 * @returns The common items' rankings in the same order, and the ids found on one side only.
 * @throws InputError when an item appears twice on one side, or the two saw different responses.
 */
export function matchRecords(a: readonly RankingExample[], b: readonly RankingExample[]): MatchedRecords {
  const ma = byId(a, 'a');
  const mb = byId(b, 'b');
  const out: MatchedRecords = { ids: [], a: [], b: [], onlyA: [], onlyB: [...mb.keys()].filter((id) => !ma.has(id)) };
  for (const [id, ra] of ma) {
    const rb = mb.get(id);
    if (rb === undefined) {
      out.onlyA.push(id);
      continue;
    }
    const same = ra.responses.length === rb.responses.length && ra.responses.every((r, i) => r === rb.responses[i]);
    if (!same) {
      throw new InputError(`b (item ${id})`, ra.prompt, 'the two labellers saw different responses for this prompt (collect with the same policy, k, sampling and seed)');
    }
    out.ids.push(id);
    out.a.push([...ra.ranking]);
    out.b.push([...rb.ranking]);
  }
  return out;
}
