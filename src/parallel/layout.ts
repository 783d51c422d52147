/**
 * The shared memory of a data-parallel step: one `SharedArrayBuffer` holding a control word pair (the
 * Atomics barrier), per-replica loss slots, one gradient slot per replica and the summed gradient.
 * Gradients move only through it; `postMessage` carries small control messages.
 * @internal
 * @module
 */

/** Index in {@link SharedViews.ctrl} of the generation the decision belongs to. */
export const CTRL_GEN = 0;
/** Index in {@link SharedViews.ctrl} of the decision: {@link GO} or {@link ABORT}. */
export const CTRL_DECISION = 1;
/** Decision: apply the summed gradient. */
export const GO = 1;
/** Decision: discard this step's gradients. */
export const ABORT = 2;

/** Float64 header fields: the clip scale and the learning rate of the decided step. */
export const HDR_SCALE = 0;
/** See {@link HDR_SCALE}. */
export const HDR_LR = 1;
/** Number of float64 statistics each replica reports per step (loss first). */
export const STATS_PER_REPLICA = 4;

const CTRL_BYTES = 16;
const HEADER_FLOATS = 4;

/** Typed views over the shared buffer. */
export interface SharedViews {
  /** Control words (Atomics). */
  ctrl: Int32Array;
  /** Float64 header: clip scale, learning rate. */
  header: Float64Array;
  /** Per-replica statistics, `replicas * STATS_PER_REPLICA`. */
  stats: Float64Array;
  /** Gradient slot of replica `i` (flattened variables, in variable order). */
  slot(i: number): Float32Array;
  /** The summed gradient. */
  sum: Float32Array;
}

function statsOffset(): number {
  return CTRL_BYTES + HEADER_FLOATS * 8;
}

function slotsOffset(replicas: number): number {
  return statsOffset() + replicas * STATS_PER_REPLICA * 8;
}

/** Bytes needed for `replicas` replicas of a model with `params` scalars. */
export function sharedBytes(replicas: number, params: number): number {
  return slotsOffset(replicas) + (replicas + 1) * params * 4;
}

/** Views over a buffer made for `replicas` replicas of `params` scalars. */
export function sharedViews(buf: SharedArrayBuffer, replicas: number, params: number): SharedViews {
  const slots = slotsOffset(replicas);
  return {
    ctrl: new Int32Array(buf, 0, 4),
    header: new Float64Array(buf, CTRL_BYTES, HEADER_FLOATS),
    stats: new Float64Array(buf, statsOffset(), replicas * STATS_PER_REPLICA),
    slot: (i) => new Float32Array(buf, slots + i * params * 4, params),
    sum: new Float32Array(buf, slots + replicas * params * 4, params),
  };
}
