// The draw schedule of a split generation: Rng.skip jumps the counter stream exactly, and shards that
// publish their per-position draw counts through the lockstep buffer get, row by row, the draws one
// sequential stream gives (rows that stopped drawing nothing), for any sharding.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/ops/random';
import { DrawLockstep, lockstepBuffer } from '../../src/parallel/lockstep';
import { shardRanges } from '../../src/parallel/options';

describe('Rng.skip', () => {
  it('equals n calls of next()', () => {
    fc.assert(fc.property(fc.integer(), fc.integer({ min: 0, max: 5000 }), (seed, n) => {
      const a = new Rng(seed);
      for (let i = 0; i < n; i++) a.next();
      const b = new Rng(seed).skip(n);
      expect(b.next()).toBe(a.next());
      expect(b.getState()).toEqual(a.getState());
    }), { numRuns: 60 });
  });
});

/** Row b draws at position t while t < stop[b]: the sequential reference and the sharded schedule. */
async function draws(stop: number[], steps: number, shards: number, seed: number): Promise<{ seq: number[][]; split: number[][]; total: number; after: number }> {
  const seq = stop.map(() => [] as number[]);
  const ref = new Rng(seed);
  for (let t = 0; t < steps; t++) stop.forEach((s, b) => { if (t < s) (seq[b] as number[]).push(ref.next()); });
  const buf = lockstepBuffer(shards, steps);
  const s0 = new Rng(seed).getState().s;
  const split = stop.map(() => [] as number[]);
  const locks = shardRanges(stop.length, shards).map(([a, b], i) => ({ a, b, lock: new DrawLockstep(buf, i, shards, steps, s0) }));
  // Shards run concurrently (interleaved at every await), each only as far as its counts allow.
  await Promise.all(locks.map(async ({ a, b, lock }) => {
    for (let t = 0; t < steps; t++) {
      const r = await lock.rngAt(t);
      let n = 0;
      for (let row = a; row < b; row++) if (t < (stop[row] as number)) { (split[row] as number[]).push(r.next()); n++; }
      lock.publish(t, n);
    }
  }));
  const total = await (locks[0] as { lock: DrawLockstep }).lock.total();
  return { seq, split, total, after: new Rng(seed).skip(total).next() === ref.next() ? 1 : 0 };
}

describe('DrawLockstep', () => {
  it('gives every row the draws of the sequential stream, for any stops and sharding', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 9 }), fc.integer({ min: 1, max: 4 }), fc.integer(),
      async (stop, shards, seed) => {
        const n = Math.min(shards, stop.length);
        const r = await draws(stop, 9, n, seed);
        expect(r.split).toEqual(r.seq);
        expect(r.total).toBe(stop.reduce((a, s) => a + s, 0));
        expect(r.after).toBe(1);
      }), { numRuns: 40 });
  });

  it('an aborted schedule makes a waiting shard throw instead of hanging', async () => {
    const buf = lockstepBuffer(2, 4);
    const waiting = new DrawLockstep(buf, 1, 2, 4, 0).rngAt(0); // needs shard 0's count, never published
    new DrawLockstep(buf, 0, 2, 4, 0).abort();
    await expect(waiting).rejects.toThrow(/another shard/);
  });
});
