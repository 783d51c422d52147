/**
 * Writes examples/data/rankings.jsonl, the K-way ranking file that examples/rankings-reward.ts trains
 * a reward model on. Run it again to regenerate the same file byte for byte (seeded):
 *
 *   npx tsx examples/data/make-rankings.ts     # writes examples/data/rankings.jsonl (96 records)
 *
 * Each record is `{ "prompt", "responses", "ranking" }` (ranking[i] = rank of responses[i], 0 best):
 * a made-up film title as the prompt and K = 3 or 4 one-sentence reviews built from templates, ranked by
 * a SIMULATED labeller, the AFINN-165 sentiment lexicon (examples/shared/sentiment-labeller.ts: the
 * more positive review ranks higher, equal scores tie). Records whose responses all tie are not written
 * (they give no comparison). Knobs: RECORDS (default 96), SEED (default 3), OUT.
 */
import { rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Rng, writeJsonlLine, type RankingExample } from 'tfjs-rlhf';
import { rankBySentiment } from '../shared/sentiment-labeller';

const RECORDS = Number(process.env.RECORDS ?? 96);
const SEED = Number(process.env.SEED ?? 3);
const OUT = process.env.OUT ?? fileURLToPath(new URL('./rankings.jsonl', import.meta.url));

const titles = [
  'The Silent River', 'Night Train', 'Paper Moon Hotel', 'Iron Garden', 'The Last Summer', 'Blue Harbour',
  'A Winter Wedding', 'Glass City', 'The Long Road Home', 'Midnight Choir', 'Red Desert', 'The Clockmaker',
];
const aspects = ['acting', 'plot', 'music', 'ending', 'script', 'cast', 'camera work', 'pacing'];
// AFINN-165 scores: positive +2..+5, negative -1..-3, neutral 0 (checked with the sentiment package).
const positive = ['good', 'great', 'superb', 'brilliant', 'wonderful', 'charming', 'beautiful', 'clever', 'fantastic', 'excellent'];
const negative = ['bad', 'awful', 'boring', 'dull', 'terrible', 'poor', 'stupid', 'weak', 'silly', 'disappointing'];
const neutral = ['long', 'short', 'slow', 'loud', 'quiet', 'old-fashioned', 'predictable'];

const rng = new Rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)] as T;
const adjective = () => pick(pick([positive, negative, neutral]));

/** One short review: one clause, or two joined by "and" / "but". */
function review(): string {
  const a = pick(aspects);
  const first = `The ${a} was ${adjective()}`;
  if (rng.int(2) === 0) return ` ${first}.`;
  const b = pick(aspects.filter((x) => x !== a));
  return ` ${first} ${pick(['and', 'but'])} the ${b} was ${adjective()}.`;
}

const records: RankingExample[] = [];
while (records.length < RECORDS) {
  const k = records.length % 3 === 2 ? 3 : 4; // two records in three have K = 4, one has K = 3
  const responses = Array.from({ length: k }, review);
  const { ranking } = rankBySentiment(responses);
  if (new Set(responses).size < k || new Set(ranking).size < 2) continue; // duplicates, or all tied
  records.push({ prompt: `Review of "${titles[records.length % titles.length]}":`, responses, ranking });
}
const tmp = `${OUT}.tmp-${process.pid}`;
await writeFile(tmp, records.map(writeJsonlLine).join(''));
await rename(tmp, OUT); // atomic: a reader never sees half a file
console.log(`wrote ${records.length} ranking records to ${OUT}`);
