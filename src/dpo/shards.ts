/**
 * DPO batches split for data-parallel training (`DPOTrainerOptions.workers`): whole records per shard,
 * each shard's loss scaled by its share of the batch's records, so the shards' gradients add up to the
 * whole batch's (see `parallel/tasks`).
 * @module
 */
import { shardRanges } from '../parallel/options';
import type { DPOShard } from '../parallel/tasks';
import type { EncodedPreference } from './data';
import type { ResolvedDPOOptions } from './options';

/** `n` shards of a batch of records and its `[N]` reference log-probs (rows in record order). */
export function dpoShards(batch: readonly EncodedPreference[], ref: Float32Array, n: number, padId: number, o: ResolvedDPOOptions): DPOShard[] {
  const rowStart = [0];
  for (const g of batch) rowStart.push((rowStart[rowStart.length - 1] as number) + g.responses.length);
  const options = { beta: o.beta, lossType: o.lossType, labelSmoothing: o.labelSmoothing, rankings: o.rankings };
  return shardRanges(batch.length, n).map(([a, b]) => ({
    kind: 'dpo', records: batch.slice(a, b), ref: ref.slice(rowStart[a] as number, rowStart[b] as number), padId,
    scale: (b - a) / batch.length, options, dropoutSeed: null,
  }));
}
