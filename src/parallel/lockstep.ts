/**
 * The random draws of a generation split across threads, made equal to the in-process ones. In-process,
 * each position samples rows in order from one stream, one draw per sampled row (rows that stopped, or
 * whose token a tool wrote, draw nothing), so a row's draws depend on how many rows before it are still
 * going. The generator is a counter ({@link Rng.skip} jumps in O(1)), so a shard of rows only needs,
 * at each position, the number of draws the shards before it make there and every shard made at earlier
 * positions: shards publish their counts in a SharedArrayBuffer and wait (Atomics) for the ones they need.
 * @internal
 * @module
 */
import { Rng } from '../ops/random';
import { WorkerError } from '../errors';

const ABORT = 0;
const WAIT_MS = 1000;

type WaitAsync = (a: Int32Array, i: number, v: number, ms: number) => { async: false; value: string } | { async: true; value: Promise<string> };
/** `Atomics.waitAsync` (Node >= 16); where missing, a short timer poll. */
const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync?.bind(Atomics)
  ?? ((_a, _i, _v, _ms) => ({ async: true, value: new Promise<string>((r) => setTimeout(() => r('timed-out'), 1)) }));

/** What the decoding loop asks of a split generation (see `models/decode.ts`). */
export interface DrawSchedule {
  /** The stream positioned for this shard's first draw at position `step` (waits for the counts it needs). */
  rngAt(step: number): Promise<Rng>;
  /** Publishes this shard's draws at position `step`. */
  publish(step: number, draws: number): void;
  /** This shard will draw no more from position `step` on. */
  finish(step: number): void;
}

/** A buffer for `shards` shards of a generation of at most `steps` positions. */
export function lockstepBuffer(shards: number, steps: number): SharedArrayBuffer {
  const buf = new SharedArrayBuffer(4 * (1 + shards * steps));
  new Int32Array(buf).fill(-1).set([0], ABORT);
  return buf;
}

/** One shard's side of the schedule. */
export class DrawLockstep implements DrawSchedule {
  private readonly cells: Int32Array;
  private base = 0;
  private counted = 0;

  /**
   * @param buf - from {@link lockstepBuffer}.
   * @param shard - this shard's index (rows in shard order = rows in batch order).
   * @param shards - shards in all.
   * @param steps - positions (`maxNewTokens`).
   * @param s0 - the stream's state before the call's first draw.
   */
  constructor(buf: SharedArrayBuffer, readonly shard: number, readonly shards: number, readonly steps: number, private readonly s0: number) {
    this.cells = new Int32Array(buf);
  }

  private index(shard: number, step: number): number {
    return 1 + shard * this.steps + step;
  }

  /**
   * Waits for shard `shard`'s count at `step` without blocking the event loop (`Atomics.waitAsync`), so
   * the main thread still hears of a worker that died and can {@link DrawLockstep.abort}.
   */
  private async read(shard: number, step: number): Promise<number> {
    const i = this.index(shard, step);
    for (;;) {
      const v = Atomics.load(this.cells, i);
      if (v >= 0) return v;
      if (Atomics.load(this.cells, ABORT) !== 0) throw new WorkerError(shard, 'error', 'another shard of this generation failed');
      const w = waitAsync(this.cells, i, -1, WAIT_MS);
      if (w.async) await w.value;
    }
  }

  async rngAt(step: number): Promise<Rng> {
    for (; this.counted < step; this.counted++) for (let j = 0; j < this.shards; j++) this.base += await this.read(j, this.counted);
    let offset = 0;
    for (let j = 0; j < this.shard; j++) offset += await this.read(j, step);
    const r = new Rng(0);
    r.setState({ s: this.s0, spare: null });
    return r.skip(this.base + offset);
  }

  publish(step: number, draws: number): void {
    const i = this.index(this.shard, step);
    Atomics.store(this.cells, i, draws);
    Atomics.notify(this.cells, i);
  }

  finish(step: number): void {
    for (let t = step; t < this.steps; t++) this.publish(t, 0);
  }

  /** Marks the generation failed: every shard waiting on a count throws. */
  abort(): void {
    Atomics.store(this.cells, ABORT, 1);
    for (let i = 1; i < this.cells.length; i++) Atomics.notify(this.cells, i);
  }

  /** Draws of every shard at every position (call after all shards finished). */
  async total(): Promise<number> {
    let n = 0;
    for (let j = 0; j < this.shards; j++) for (let t = 0; t < this.steps; t++) n += await this.read(j, t);
    return n;
  }
}
