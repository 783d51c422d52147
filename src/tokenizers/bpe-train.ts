/**
 * Byte-level BPE training, as Hugging Face `tokenizers`' `BpeTrainer` does it with the `ByteLevel`
 * pre-tokenizer and `initial_alphabet = ByteLevel.alphabet()`:
 *
 * 1. the special tokens get ids 0, 1, ... in the order given;
 * 2. the 256 byte symbols (`Ġ` for space, ...) come next, sorted by code point (which is GPT-2's
 *    byte order: `!` first);
 * 3. the text is split by GPT-2's pattern and each distinct piece ("word") is counted once;
 * 4. repeatedly, the adjacent pair with the largest count (summed over words, times each word's
 *    count) is merged into a new token, until the vocabulary has `vocabSize` tokens, no pair is left,
 *    or the best count is below `minFrequency`. Ties go to the pair with the smallest
 *    `(first id, second id)`, i.e. the earlier-created tokens, exactly as `BpeTrainer`'s heap orders
 *    them. Within a word, occurrences are merged left to right (`aaa` -> `aa a`).
 *
 * Pair counts are updated incrementally: a merge only visits the words that hold the pair (an index
 * from pair to words), changes the counts of the pairs around each merge site, and pushes the pairs
 * it created onto a max-heap; stale heap entries are re-checked when they surface.
 * Pure: works in browsers.
 * @internal
 * @module
 */
import { BYTE_TO_CHAR, GPT2_PATTERN } from './byte-level-bpe';
import { PairHeap } from './pair-heap';

/** What {@link trainBpe} learns. @internal */
export interface TrainedBpe {
  /** Token strings by id: the special tokens, the 256 byte symbols, then one per new token. */
  tokens: string[];
  /** Merges in rank order. */
  merges: [string, string][];
}

/** Settings of {@link trainBpe}, already checked. @internal */
export interface BpeTrainSettings {
  /** Stop once the vocabulary (specials and byte symbols included) has this many tokens. */
  vocabSize: number;
  /** Tokens that get the first ids; never produced by a merge. */
  specialTokens: readonly string[];
  /** Stop when the most frequent pair occurs fewer times than this. */
  minFrequency: number;
  /** Called after every merge with the number of tokens so far. */
  onMerge?: (tokens: number) => void;
}

const utf8 = new TextEncoder();

/** Distinct pre-tokenised pieces of `texts` and how often each occurs. @internal */
export function countPieces(texts: Iterable<string>, check: (text: unknown, i: number) => void): Map<string, number> {
  const counts = new Map<string, number>();
  let i = 0;
  for (const text of texts) {
    check(text, i++);
    for (const piece of text.match(GPT2_PATTERN) ?? []) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  }
  return counts;
}

/** Words as symbol-id arrays with their counts (one-symbol words have no pairs and are dropped). */
interface Corpus {
  words: Int32Array[];
  lengths: Int32Array;
  counts: Float64Array;
}

function corpusOf(pieces: ReadonlyMap<string, number>, byteId: Int32Array): Corpus {
  const words: Int32Array[] = [];
  const counts: number[] = [];
  for (const [piece, count] of pieces) {
    const bytes = utf8.encode(piece);
    if (bytes.length < 2) continue;
    words.push(Int32Array.from(bytes, (b) => byteId[b] as number));
    counts.push(count);
  }
  return { words, lengths: Int32Array.from(words, (w) => w.length), counts: Float64Array.from(counts) };
}

/** Live pair counts, the index from pair to words, and the pairs a merge step created. */
class PairTable {
  readonly counts = new Map<number, number>();
  readonly where = new Map<number, number[]>();
  readonly created = new Set<number>();

  constructor(readonly width: number) {}

  key(a: number, b: number): number {
    return a * this.width + b;
  }

  /** Adds `delta` occurrences (already times the word count) of `key`; records `word` when positive. */
  add(key: number, delta: number, word: number): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + delta);
    if (delta <= 0) return;
    this.created.add(key);
    const list = this.where.get(key);
    if (list === undefined) this.where.set(key, [word]);
    else if (list[list.length - 1] !== word) list.push(word);
  }
}

/**
 * Merges every `a b` of word `w` into `x`, left to right, and updates the counts of the neighbouring
 * pairs (the merged pair's own count is dropped by the caller); the word's length shrinks in place.
 */
function mergeWord(c: Corpus, w: number, a: number, b: number, x: number, pairs: PairTable): void {
  const sym = c.words[w] as Int32Array;
  const len = c.lengths[w] as number;
  const n = c.counts[w] as number;
  let out = 0;
  let i = 0;
  while (i < len) {
    if (i + 1 < len && sym[i] === a && sym[i + 1] === b) {
      if (out > 0) {
        const prev = sym[out - 1] as number;
        pairs.add(pairs.key(prev, a), -n, w);
        pairs.add(pairs.key(prev, x), n, w);
      }
      if (i + 2 < len) {
        const next = sym[i + 2] as number;
        pairs.add(pairs.key(b, next), -n, w);
        pairs.add(pairs.key(x, next), n, w);
      }
      sym[out++] = x;
      i += 2;
    } else {
      sym[out++] = sym[i++] as number;
    }
  }
  c.lengths[w] = out;
}

/** The initial vocabulary: specials, then the byte symbols by code point; and each byte's id. */
function initialTokens(specialTokens: readonly string[]): { tokens: string[]; byteId: Int32Array } {
  const symbols = BYTE_TO_CHAR.map((ch, b) => ({ ch, b })).sort((p, q) => (p.ch.codePointAt(0) as number) - (q.ch.codePointAt(0) as number));
  const tokens = [...specialTokens];
  const byteId = new Int32Array(256);
  for (const { ch, b } of symbols) {
    byteId[b] = tokens.length;
    tokens.push(ch);
  }
  return { tokens, byteId };
}

function countAllPairs(c: Corpus, pairs: PairTable): void {
  for (let w = 0; w < c.words.length; w++) {
    const sym = c.words[w] as Int32Array;
    for (let i = 0; i + 1 < sym.length; i++) pairs.add(pairs.key(sym[i] as number, sym[i + 1] as number), c.counts[w] as number, w);
  }
}

/**
 * Learns byte-level BPE merges from pre-tokenised piece counts (see the module documentation).
 * @param pieces - piece -> count, from {@link countPieces}.
 * @param settings - see {@link BpeTrainSettings}.
 * @internal
 */
export function trainBpe(pieces: ReadonlyMap<string, number>, settings: BpeTrainSettings): TrainedBpe {
  const { tokens, byteId } = initialTokens(settings.specialTokens);
  const ids = new Map(tokens.map((t, id) => [t, id]));
  const specials = new Set(settings.specialTokens);
  const corpus = corpusOf(pieces, byteId);
  const pairs = new PairTable(Math.max(settings.vocabSize, tokens.length));
  countAllPairs(corpus, pairs);
  const heap = new PairHeap();
  for (const key of pairs.created) heap.push(pairs.counts.get(key) as number, key);
  pairs.created.clear();
  const merges: [string, string][] = [];
  const seen = new Int32Array(corpus.words.length).fill(-1);
  while (tokens.length < settings.vocabSize && heap.size > 0) {
    const key = heap.topKey as number;
    const queued = heap.topCount as number;
    const live = pairs.counts.get(key) ?? 0;
    heap.pop();
    if (queued !== live) {
      if (live > 0) heap.push(live, key);
      continue;
    }
    if (live < 1 || live < settings.minFrequency) break;
    const a = Math.floor(key / pairs.width);
    const b = key - a * pairs.width;
    const merged = (tokens[a] as string) + (tokens[b] as string);
    const words = pairs.where.get(key) ?? [];
    pairs.counts.delete(key);
    pairs.where.delete(key);
    if (specials.has(merged)) continue; // never make a token that spells a special token
    let x = ids.get(merged);
    if (x === undefined) {
      x = tokens.length;
      tokens.push(merged);
      ids.set(merged, x);
    }
    merges.push([tokens[a] as string, tokens[b] as string]);
    for (const w of words) {
      if (seen[w] === merges.length) continue;
      seen[w] = merges.length;
      mergeWord(corpus, w, a, b, x, pairs);
    }
    pairs.counts.delete(key); // its occurrences are all merged (the updates above only touched neighbours)
    for (const k of pairs.created) {
      const count = pairs.counts.get(k) ?? 0;
      if (count > 0) heap.push(count, k);
    }
    pairs.created.clear();
    settings.onMerge?.(tokens.length);
  }
  return { tokens, merges };
}
