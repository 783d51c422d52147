/**
 * From a CleanRL-style rollout (`[T, N]` arrays with `dones`) to the padded `[B, L]` rows the core's
 * `gae` takes, and back. Plain TypeScript, no tensors.
 *
 * Each episode fragment of each environment becomes one row (mask 1 on its steps, 0 after). `gae`
 * treats the value after a row's last real step as 0, which is right for a fragment whose episode
 * ended (CleanRL treats termination and truncation alike as the end); a fragment cut by the end of the
 * rollout instead gets the bootstrap `gamma * V(next obs)` added to its last reward. The result is
 * exactly CleanRL's GAE loop with `nextnonterminal = 1 - done`.
 */

/** The rollout arrays GAE needs, `[T, N]` row-major (index `t * N + e`). */
export interface RolloutArrays {
  rewards: Float32Array; // [T, N]
  values: Float32Array; // [T, N]
  /** 1 where the episode ended at this step (terminated or truncated). */
  dones: Float32Array; // [T, N]
  /** V(obs after the last step), the bootstrap. */
  nextValues: Float32Array; // [N]
}

/** A padded `[B, L]` batch for `gae`, and where each row came from. */
export interface FragmentBatch {
  B: number;
  L: number;
  rewards: Float32Array; // [B, L]
  values: Float32Array; // [B, L]
  mask: Float32Array; // [B, L]
  rows: { env: number; start: number; end: number }[];
}

/** Splits the rollout into one padded row per episode fragment (see the module comment). */
export function toFragments(ro: RolloutArrays, N: number, T: number, gamma: number): FragmentBatch {
  const rows: { env: number; start: number; end: number }[] = [];
  for (let e = 0; e < N; e++) {
    let start = 0;
    for (let t = 0; t < T; t++) {
      if (ro.dones[t * N + e] === 1 || t === T - 1) {
        rows.push({ env: e, start, end: t });
        start = t + 1;
      }
    }
  }
  const B = rows.length;
  const L = T;
  const rewards = new Float32Array(B * L);
  const values = new Float32Array(B * L);
  const mask = new Float32Array(B * L);
  rows.forEach(({ env, start, end }, b) => {
    for (let t = start; t <= end; t++) {
      rewards[b * L + t - start] = ro.rewards[t * N + env] as number;
      values[b * L + t - start] = ro.values[t * N + env] as number;
      mask[b * L + t - start] = 1;
    }
    const last = b * L + end - start;
    if (ro.dones[end * N + env] !== 1) rewards[last] = (rewards[last] as number) + gamma * (ro.nextValues[env] as number);
  });
  return { B, L, rewards, values, mask, rows };
}

/** Scatters a `[B, L]` result of `gae` (advantages or returns) back to the rollout's `[T, N]` layout. */
export function fromFragments(batch: FragmentBatch, x: ArrayLike<number>, N: number, T: number): Float32Array {
  const out = new Float32Array(T * N);
  batch.rows.forEach(({ env, start, end }, b) => {
    for (let t = start; t <= end; t++) out[t * N + env] = x[b * batch.L + t - start] as number;
  });
  return out;
}
