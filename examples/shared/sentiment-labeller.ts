/**
 * A simulated labeller: ranks texts by their AFINN-165 sentiment score (the `sentiment` npm package).
 *
 * This is a stand-in for people. In InstructGPT, human labellers rank K model answers by how helpful,
 * truthful and harmless they are; here a word list does the ranking, so the examples run offline and
 * their results can be checked. AFINN-165 gives about 3,300 English words an integer score from -5
 * ("bastard") to +5 ("breathtaking"); a text's score is the sum over its words (with simple negation:
 * "not good" counts as -3). The labeller prefers the text with the HIGHER score; equal scores are ties
 * and give no comparison, as when a person marks two answers "equally good".
 */
import Sentiment from 'sentiment';
import type { Labeler } from 'tfjs-rlhf';

const analyzer = new Sentiment();

/** AFINN-165 score of `text`: the sum of its lexicon words' scores (0 when it has none). */
export function sentimentScore(text: string): number {
  return analyzer.analyze(text).score;
}

/** The lexicon words found in `text`, in order: `'a great cast, but not good'` gives `['great', 'good']`. */
export function sentimentWords(text: string): string[] {
  return analyzer.analyze(text).words.slice().reverse();
}

/**
 * The labeller's ranking of `texts`: `ranking[i]` is the rank of `texts[i]`, 0 = best (highest
 * score), equal scores share a rank (ties). This is the `ranking` column of a `{ prompt, responses,
 * ranking }` record.
 */
export function rankBySentiment(texts: readonly string[]): { ranking: number[]; scores: number[] } {
  const scores = texts.map(sentimentScore);
  const distinct = [...new Set(scores)].sort((a, b) => b - a);
  return { ranking: scores.map((s) => distinct.indexOf(s)), scores };
}

/**
 * The simulated labeller as a `Labeler`, the interface people (WebLabeler, TerminalLabeler) and judges
 * (JudgeLabeler) implement: `PreferenceCollector` and `RlhfPipeline` ask it to rank K responses.
 */
export const sentimentLabeler: Labeler = {
  name: 'simulated:afinn-165',
  label: async (request) => {
    const { ranking, scores } = rankBySentiment(request.responses);
    // Every response equally positive: nothing to learn from, as a person would skip it.
    if (new Set(scores).size < 2) return { kind: 'skipped', reason: `all ${scores.length} responses score ${scores[0]}` };
    return { kind: 'ranked', ranking };
  },
};
