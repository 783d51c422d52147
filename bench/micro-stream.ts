/**
 * The scaling benchmark's token stream, free of imports so that both the Node benchmarks (through
 * bench/micro-data.ts) and the browser benchmark page build it from their own copy of the library.
 */

/** What the stream needs of `Rng`. */
export interface StreamRng {
  next(): number;
  int(n: number): number;
}

/** `n` tokens below `vocab` with learnable structure (a recurrence plus 10% noise drawn from `rng`). */
export function microTokens(n: number, vocab: number, rng: StreamRng): Int32Array {
  const out = new Int32Array(n);
  out[0] = 1;
  out[1] = 2;
  for (let i = 2; i < n; i++) out[i] = rng.next() < 0.1 ? rng.int(vocab) : ((out[i - 1] as number) * 7 + (out[i - 2] as number) * 3 + 11) % vocab;
  return out;
}
