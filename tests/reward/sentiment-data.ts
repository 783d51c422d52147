// Comparisons labelled by a programmatic preference: the AFINN-165 sentiment lexicon (npm `sentiment`)
// acts as the labeller, preferring the more positive review.
import Sentiment from 'sentiment';
import { Rng } from '../../src/ops/random';
import type { RankingExample } from '../../src/data/types';

const positive = ['good', 'great', 'lovely', 'happy', 'fun', 'nice', 'superb', 'amazing', 'brilliant', 'fantastic', 'excellent', 'perfect'];
const negative = ['bad', 'awful', 'sad', 'boring', 'ugly', 'terrible', 'horrible', 'poor', 'dull', 'worst', 'stupid', 'disappointing'];
const neutral = ['long', 'new', 'old', 'short', 'red', 'quiet', 'french', 'late'];
const subjects = ['the film', 'the book', 'the meal', 'the show', 'the trip', 'the song'];

const scorer = new Sentiment();

/** The labeller: AFINN sentiment score of a text. */
export function sentimentScore(text: string): number {
  return scorer.analyze(text).score;
}

const openers = ['honestly', 'i think', 'overall', 'to be fair', 'in short', 'well'];

function pick<T>(xs: readonly T[], rng: Rng): T {
  return xs[rng.int(xs.length)] as T;
}

function review(rng: Rng): string {
  const pool = pick([positive, negative, neutral], rng);
  return `${pick(openers, rng)}, ${pick(subjects, rng)} was ${pick(pool, rng)}.`;
}

/**
 * `n` prompts, each with K = 4 one-sentence reviews ranked by the labeller: a higher AFINN-165 score
 * is better; equal scores are ties and give no pair.
 */
export function sentimentRankings(n: number, seed: number): RankingExample[] {
  const rng = new Rng(seed);
  const out: RankingExample[] = [];
  while (out.length < n) {
    const responses = Array.from({ length: 4 }, () => review(rng));
    if (new Set(responses).size < 4) continue;
    const scores = responses.map(sentimentScore);
    const distinct = [...new Set(scores)].sort((a, b) => b - a);
    if (distinct.length < 2) continue;
    out.push({ prompt: 'Review:', responses, ranking: scores.map((s) => distinct.indexOf(s)) });
  }
  return out;
}
