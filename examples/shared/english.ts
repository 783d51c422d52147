/**
 * How English is generated text? The measures the quickstart reports for its policies:
 *
 * - `englishShare`: the share of words (runs of letters, with inner apostrophes) that are words of the
 *   Brown corpus vocabulary (every word of its 500 files, lowercased: about 50,000 words). A model that
 *   spells "good posic," scores 0.5 on that phrase.
 * - `meanWords`: mean number of words per response.
 * - `distinctShare`: distinct responses / responses (a policy that answers everything with "good." has 1/n).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { brownDir, untag } from './brown';

const WORD = /[A-Za-z]+(?:'[A-Za-z]+)*/g;

/** The words of `text`, as `englishShare` counts them. */
export function words(text: string): string[] {
  return text.match(WORD) ?? [];
}

let vocabulary: Promise<Set<string>> | undefined;

/** Every word of the Brown corpus (all categories), lowercased. Read once. */
export function brownVocabulary(): Promise<Set<string>> {
  vocabulary ??= (async () => {
    const dir = brownDir();
    const files = (await readdir(dir)).filter((f) => /^c[a-r]\d\d$/.test(f));
    const out = new Set<string>();
    for (const f of files) {
      for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) for (const w of words(untag(line))) out.add(w.toLowerCase());
    }
    return out;
  })();
  return vocabulary;
}

/** Share, counts and lengths of the English in `texts`. */
export interface EnglishStats {
  /** English words / words (1 when there are no words). */
  englishShare: number;
  /** Words per text. */
  meanWords: number;
  /** Distinct texts / texts. */
  distinctShare: number;
  /** Words not in the vocabulary, at most 12, for a look. */
  nonWords: string[];
}

/** Measures `texts` against the Brown vocabulary. */
export async function englishStats(texts: readonly string[]): Promise<EnglishStats> {
  const vocab = await brownVocabulary();
  const all = texts.flatMap(words);
  const misses = all.filter((w) => !vocab.has(w.toLowerCase()));
  return {
    englishShare: all.length === 0 ? 1 : 1 - misses.length / all.length,
    meanWords: all.length / Math.max(1, texts.length),
    distinctShare: new Set(texts).size / Math.max(1, texts.length),
    nonWords: [...new Set(misses)].slice(0, 12),
  };
}
