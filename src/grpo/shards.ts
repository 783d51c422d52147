/**
 * GRPO/RLOO minibatches split for data-parallel training (`workers`): contiguous rows per shard, each
 * shard's loss scaled by its share of the minibatch's aggregation (rows for `'grpo'`/`'dr_grpo'`, real
 * tokens for `'dapo'`/`'bnpo'`), so the shards' gradients add up to the whole minibatch's; the
 * token-mean metrics are merged back weighted by each shard's tokens.
 * @module
 */
import { shardRanges } from '../parallel/options';
import type { GroupShard } from '../parallel/tasks';
import { selectFlat, selectRows, type Rollout } from '../ppo/rollout';
import type { ResolvedGroupOptions } from './options';

/** Rollout-time quantities of the update. */
export interface GroupTargets {
  /** `[N * R]` log-probs at sampling time. */
  oldLogProbs: Float32Array;
  /** `[N * R]` reference log-probs (absent when there is no reference). */
  refLogProbs?: Float32Array;
  /** `[N]` one advantage per completion. */
  advantages: Float32Array;
}

const tokensOf = (mask: Float32Array): number => mask.reduce((a, x) => a + x, 0);

/** `n` shards of the minibatch `rows` of a rollout. */
export function groupShards(ro: Rollout, rows: readonly number[], t: GroupTargets, o: ResolvedGroupOptions, n: number): GroupShard[] {
  const R = ro.responseLength;
  const total = tokensOf(selectFlat(ro.responseMask, R, rows));
  const options = { temperature: o.temperature, epsilon: o.epsilon, epsilonHigh: o.epsilonHigh, beta: o.beta, lossType: o.lossType, maxNewTokens: o.maxNewTokens };
  return shardRanges(rows.length, n).map(([a, b]) => {
    const mine = rows.slice(a, b);
    const mask = selectFlat(ro.responseMask, R, mine);
    const byTokens = o.lossType === 'dapo' || o.lossType === 'bnpo';
    return {
      kind: 'group', batch: selectRows(ro.batch, mine), P: ro.responseStart, R, mask,
      oldLogProbs: selectFlat(t.oldLogProbs, R, mine), ...(t.refLogProbs && { refLogProbs: selectFlat(t.refLogProbs, R, mine) }),
      advantages: Float32Array.from(mine, (i) => t.advantages[i] as number),
      scale: byTokens ? (total > 0 ? tokensOf(mask) / total : 0) : mine.length / rows.length, options, dropoutSeed: null,
    };
  });
}

/**
 * One value per metric: in-process (`shards` undefined) the step's own; across replicas the shards'
 * token means weighted by their tokens.
 */
export function mergeShardMetrics(metrics: Record<string, number[]>, shards: GroupShard[] | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (shards === undefined) {
    for (const [k, v] of Object.entries(metrics)) out[k] = v[0] as number;
    return out;
  }
  const w = shards.filter((s) => s.batch.batch > 0).map((s) => tokensOf(s.mask));
  const total = w.reduce((a, x) => a + x, 0);
  for (const [k, v] of Object.entries(metrics)) out[k] = total > 0 ? v.reduce((a, x, i) => a + x * (w[i] as number), 0) / total : 0;
  return out;
}
