/**
 * The scaling benchmark's shared pieces: the "micro" config's sizes (vocab 259, as the PyTorch peer),
 * its synthetic token stream and the median. Used by bench/scaling.ts and bench/ceiling.ts.
 */
import { Rng } from '../dist/index.js';
import { microTokens } from './micro-stream';

/** Vocabulary of the scaling runs (the byte tokenizer's, as the PyTorch peer script). */
export const VOCAB = 259;
/** Rows per training step. */
export const BATCH = 8;
/** Tokens per row. */
export const SEQ = 64;

/** A seeded token stream with learnable structure (a recurrence plus 10% noise). */
export function tokens(n: number, seed = 1234): Int32Array {
  return microTokens(n, VOCAB, new Rng(seed));
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}
