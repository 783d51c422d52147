/**
 * A small seeded pseudo-random generator (SplitMix32-style mixing over a 32-bit counter state) whose
 * whole state is one number, so it can be saved in a checkpoint and restored exactly.
 * Used for weight initialisation, sampling, shuffling and data windows: the same seed gives the same
 * numbers on every backend and platform.
 * @module
 */

/** A seeded, serialisable random number generator. */
export class Rng {
  private s: number;
  private spare: number | undefined;

  /** @param seed - any integer; equal seeds give equal streams. */
  constructor(seed: number) {
    this.s = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    this.spare = undefined;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i] as T;
      a[i] = a[j] as T;
      a[j] = t;
    }
    return a;
  }

  /**
   * Advances the stream by `n` uniform draws in O(1) (the generator is a counter): afterwards it gives
   * what it would have given after `n` calls of {@link Rng.next}. Clears a cached normal sample.
   */
  skip(n: number): this {
    this.s = (this.s + Math.imul(n >>> 0, 0x9e3779b9)) >>> 0;
    this.spare = undefined;
    return this;
  }

  /** A new generator seeded from this one (for independent sub-streams). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** The full state, for checkpoints. */
  getState(): RngState {
    return { s: this.s, spare: this.spare ?? null };
  }

  /** Restore a state returned by {@link Rng.getState}. */
  setState(state: RngState): void {
    this.s = state.s >>> 0;
    this.spare = state.spare ?? undefined;
  }
}

/** Serialisable state of an {@link Rng}. */
export interface RngState {
  /** The 32-bit counter. */
  s: number;
  /** A cached normal sample, or null. */
  spare: number | null;
}
