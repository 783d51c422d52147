/**
 * What every replica (the main thread and each worker) does in a data-parallel step: compute its
 * shard's gradient into its shared slot, and apply the summed gradient with its own AdamW. The same
 * code runs on every replica, so identical inputs give identical weights everywhere.
 * @internal
 * @module
 */
import { tf } from '../tf';
import type { AdamW } from '../optim/adamw';
import { shardLoss, shardRows, type ReplicaModel, type ShardTask } from './tasks';

/** A model replica and its optimizer. */
export interface Replica {
  /** The model. */
  model: ReplicaModel;
  /** Its optimizer, over the model's `trainableVariables` in order. */
  opt: AdamW;
}

/** The names of a model's trainable variables, in `trainableVariables` order. */
export function variableNames(m: ReplicaModel): string[] {
  return m.kind === 'policy' ? [...m.policy.model.params.keys()] : [...m.model.trunk.params.keys(), 'score.weight', 'score.bias'];
}

/** What a replica reports from its shard: its loss share and its metrics, as numbers. */
export interface ShardResult {
  /** The shard's share of the batch loss (0 for an empty shard). */
  loss: number;
  /** Metric values by name (empty arrays for an empty shard). */
  metrics: Record<string, number[]>;
}

/** Offsets of each variable in a flattened gradient (length = variables + 1; the last is the total). */
export function variableOffsets(vars: readonly tf.Variable[]): number[] {
  const out = [0];
  for (const v of vars) out.push((out[out.length - 1] as number) + v.size);
  return out;
}

/**
 * Computes the shard's loss and gradient; writes the gradient (flattened, in variable order) into
 * `slot`. An empty shard writes zeros and reports a zero loss. No tensors remain.
 */
export function computeShardGradient(rep: Replica, task: ShardTask, slot: Float32Array): ShardResult {
  const vars = rep.opt.variables as tf.Variable[];
  if (shardRows(task) === 0) {
    slot.fill(0);
    return { loss: 0, metrics: {} };
  }
  let metrics: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => {
    const r = shardLoss(rep.model, task);
    metrics = r.metrics;
    for (const m of Object.values(metrics)) tf.keep(m);
    return r.loss;
  }, vars));
  try {
    let off = 0;
    for (const v of vars) {
      const g = grads[v.name];
      if (g === undefined) slot.fill(0, off, off + v.size);
      else slot.set(g.dataSync() as Float32Array, off);
      off += v.size;
    }
    const values: Record<string, number[]> = {};
    for (const [k, t] of Object.entries(metrics)) values[k] = Array.from(t.dataSync());
    return { loss: (value.dataSync() as Float32Array)[0] as number, metrics: values };
  } finally {
    tf.dispose([value, ...Object.values(grads), ...Object.values(metrics)]);
  }
}

/** Multiplies the summed gradient by `scale` (the clip factor) and applies one AdamW update at `lr`. */
export function applySummedGradient(rep: Replica, sum: Float32Array, scale: number, lr: number): void {
  const vars = rep.opt.variables as tf.Variable[];
  let off = 0;
  const grads = vars.map((v) => {
    const g = tf.tensor(sum.subarray(off, off + v.size), v.shape, 'float32');
    off += v.size;
    return g;
  });
  try {
    rep.opt.applyGradients(grads, lr, scale);
  } finally {
    tf.dispose(grads);
  }
}

/** FNV-1a over the bit patterns of every weight: equal weights give equal checksums. */
export function weightsChecksum(vars: readonly tf.Variable[]): number {
  let h = 0x811c9dc5;
  for (const v of vars) {
    const bits = new Uint32Array((v.dataSync() as Float32Array).slice().buffer);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ (bits[i] as number), 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Sums the replicas' gradient slots in replica order into `sum` (the same order on every run, so the
 * result does not depend on which worker finished first) and returns the global L2 norm of the sum.
 */
export function reduceSlots(slots: readonly Float32Array[], sum: Float32Array): number {
  const first = slots[0] as Float32Array;
  sum.set(first);
  for (let r = 1; r < slots.length; r++) {
    const s = slots[r] as Float32Array;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (s[i] as number);
  }
  let sq = 0;
  for (let i = 0; i < sum.length; i++) sq += (sum[i] as number) * (sum[i] as number);
  return Math.sqrt(sq);
}
