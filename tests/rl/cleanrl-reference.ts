/**
 * Plain-JS (float64) reference implementations of the PPO math in CleanRL `ppo.py`, written as
 * literally as possible, for parity tests of the functional core (not a test file itself). Where
 * PyTorch's autograd matters (ties in `torch.max`, the inclusive bounds of `torch.clamp`), the
 * gradient is given too, with PyTorch's rules.
 */

/**
 * CleanRL's GAE loop over `[T][N]` arrays. `stepDone[t][e]` = the episode of env `e` ended at step
 * `t` (terminated or truncated: CleanRL's `next_done` after step `t`); CleanRL stores it as
 * `dones[t + 1]`, and as `next_done` for the last step. `nextValue[e]` = V(obs after the last step).
 */
export function cleanRlGae(
  rewards: number[][], values: number[][], stepDone: number[][], nextValue: number[], gamma: number, lam: number,
): { advantages: number[][]; returns: number[][] } {
  const T = rewards.length;
  const N = nextValue.length;
  const advantages = Array.from({ length: T }, () => new Array<number>(N).fill(0));
  let lastgaelam = new Array<number>(N).fill(0);
  for (let t = T - 1; t >= 0; t--) {
    const next = lastgaelam.slice();
    for (let e = 0; e < N; e++) {
      // t == T-1: nextnonterminal = 1 - next_done, nextvalues = next_value
      // else:     nextnonterminal = 1 - dones[t + 1], nextvalues = values[t + 1]
      const nextnonterminal = 1 - stepDone[t]![e]!;
      const nextvalues = t === T - 1 ? nextValue[e]! : values[t + 1]![e]!;
      const delta = rewards[t]![e]! + gamma * nextvalues * nextnonterminal - values[t]![e]!;
      next[e] = delta + gamma * lam * nextnonterminal * lastgaelam[e]!;
      advantages[t]![e] = next[e]!;
    }
    lastgaelam = next;
  }
  const returns = advantages.map((row, t) => row.map((a, e) => a + values[t]![e]!));
  return { advantages, returns };
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);
/** d clamp(x, lo, hi) / dx in PyTorch: 1 on [lo, hi] (bounds included), else 0. */
const clampGrad = (x: number, lo: number, hi: number): number => (x >= lo && x <= hi ? 1 : 0);
/** PyTorch's split of the gradient of `torch.max(a, b)`: [to a, to b]; ties split it in half. */
const maxSplit = (a: number, b: number): [number, number] => (a === b ? [0.5, 0.5] : a > b ? [1, 0] : [0, 1]);

/** Result of {@link cleanRlPolicyLoss}. */
export interface RefPolicy {
  loss: number;
  /** d loss / d newlogprob, per element. */
  grad: number[];
  /** CleanRL `approx_kl`: mean of `(ratio - 1) - logratio`. */
  approxKl: number;
  /** CleanRL `clipfracs`: fraction with `|ratio - 1| > clip_coef` (whatever the sign of the advantage). */
  clipFrac: number;
}

/**
 * CleanRL's clipped surrogate over a minibatch (no masking, everything real):
 * `pg_loss = max(-A * ratio, -A * clamp(ratio, 1 - c, 1 + c)).mean()`, `ratio = exp(logratio)`.
 * `logRatio` is given directly (the float32 difference the tensors hold), and the ratio is rounded to
 * float32 as well, so that exact ties at the clip boundary are ties here too.
 */
export function cleanRlPolicyLoss(logRatio: number[], A: number[], c: number): RefPolicy {
  const n = logRatio.length;
  let loss = 0;
  let kl = 0;
  let clipped = 0;
  const grad = logRatio.map((lr, i) => {
    const ratio = Math.fround(Math.exp(lr)); // the float32 ratio a torch float32 tensor holds
    const a = A[i]!;
    const pg1 = -a * ratio;
    const pg2 = -a * clamp(ratio, 1 - c, 1 + c);
    loss += Math.max(pg1, pg2);
    kl += ratio - 1 - lr;
    if (Math.abs(ratio - 1) > c) clipped++;
    const [w1, w2] = maxSplit(pg1, pg2);
    // d ratio / d logp = ratio
    return ((w1 * -a * ratio + w2 * -a * clampGrad(ratio, 1 - c, 1 + c) * ratio) / n);
  });
  return { loss: loss / n, grad, approxKl: kl / n, clipFrac: clipped / n };
}

/**
 * CleanRL's clipped value loss: `0.5 * max((V - R)^2, (V_old + clamp(V - V_old, -c, c) - R)^2).mean()`,
 * with d loss / d V per element.
 */
export function cleanRlValueLoss(V: number[], Vold: number[], R: number[], c: number): { loss: number; grad: number[] } {
  const n = V.length;
  let loss = 0;
  const grad = V.map((v, i) => {
    const old = Vold[i]!;
    const ret = R[i]!;
    const vClipped = old + clamp(v - old, -c, c);
    const l1 = (v - ret) ** 2;
    const l2 = (vClipped - ret) ** 2;
    loss += Math.max(l1, l2);
    const [w1, w2] = maxSplit(l1, l2);
    return (0.5 * (w1 * 2 * (v - ret) + w2 * 2 * (vClipped - ret) * clampGrad(v - old, -c, c))) / n;
  });
  return { loss: (0.5 * loss) / n, grad };
}

/**
 * CleanRL's advantage normalisation: `(a - a.mean()) / (a.std() + 1e-8)` with PyTorch's `std`, which
 * is unbiased (divides by n - 1): NaN for a single element.
 */
export function cleanRlNormalize(a: number[]): number[] {
  const n = a.length;
  const mean = a.reduce((s, x) => s + x, 0) / n;
  const std = Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  return a.map((x) => (x - mean) / (std + 1e-8));
}
