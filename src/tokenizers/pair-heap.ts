/**
 * The priority queue of BPE training: a binary max-heap of (count, pair key) entries, ordered by count
 * (largest first), ties by pair key (smallest first), as Hugging Face `tokenizers`' `BpeTrainer` orders
 * its `Merge` entries. Entries may be stale; the trainer checks them against the live counts on pop.
 * @internal
 * @module
 */

/** A max-heap of (count, key) pairs: {@link PairHeap.pop} gives the largest count, ties by smallest key. @internal */
export class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  /** Number of entries. */
  get size(): number {
    return this.keys.length;
  }

  /** Count of the top entry (undefined when empty). */
  get topCount(): number | undefined {
    return this.counts[0];
  }

  /** Key of the top entry (undefined when empty). */
  get topKey(): number | undefined {
    return this.keys[0];
  }

  /** True when entry `i` must come before entry `j`. */
  private before(i: number, j: number): boolean {
    const ci = this.counts[i] as number;
    const cj = this.counts[j] as number;
    return ci > cj || (ci === cj && (this.keys[i] as number) < (this.keys[j] as number));
  }

  private swap(i: number, j: number): void {
    const c = this.counts[i] as number;
    this.counts[i] = this.counts[j] as number;
    this.counts[j] = c;
    const k = this.keys[i] as number;
    this.keys[i] = this.keys[j] as number;
    this.keys[j] = k;
  }

  /** Adds an entry. */
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Removes the top entry (no-op when empty). */
  pop(): void {
    const last = this.keys.length - 1;
    if (last < 0) return;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
  }
}
