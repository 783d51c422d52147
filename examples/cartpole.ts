/**
 * PPO on CartPole-v1 with your own model: the functional core of tfjs-rlhf (`gae`, `ppoPolicyLoss`,
 * `ppoValueLoss`, `maskedWhiten`, plus `AdamW` and `clipByGlobalNorm`) driving a small MLP written
 * on tfjs-core directly, with CleanRL `ppo.py`'s settings. Nothing here knows about language models:
 * this is the pattern for a downstream author who brings a model that gives log-probs and values.
 *
 *   npx tsx examples/cartpole.ts --seed 1                        # one seed, 500k steps
 *   npx tsx examples/cartpole.ts --seeds 1,2,3 --out runs.json   # several seeds, results as JSON
 *   npx tsx examples/cartpole.ts --total-steps 20000             # short run
 *
 * Flags: --seed N, --seeds A,B,..., --total-steps N (default 500000), --out FILE (JSON results),
 * --backend wasm|cpu (default wasm), --learning-rate X (default 2.5e-4), --num-envs N (default 4, as
 * CleanRL), --core library|reference (reference: CleanRL's formulas written out plainly instead of the
 * core, for an A/B run). Prints the mean return of the last 20 and of the last 100 episodes per seed.
 * Results over 8 seeds: examples/cartpole/README.md.
 *
 * Episodes are variable-length inside a fixed 4 x 128 rollout; the core's `gae` works on padded
 * `[B, T]` rows, so each episode fragment becomes one row (padding after it), and a fragment cut by
 * the end of the rollout gets the bootstrap `gamma * V(next obs)` added to its last reward, which is
 * exactly CleanRL's GAE with `dones` (examples/cartpole/fragments.ts).
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm, gae, maskedWhiten, ppoPolicyLoss, ppoValueLoss, useBackend } from 'tfjs-rlhf';
import { Agent } from './cartpole/agent';
import { SeededRandom, VectorCartPole } from './cartpole/env';
import { fromFragments, toFragments } from './cartpole/fragments';
import { referenceAdvantages, referenceNormalize, referencePolicyLoss, referenceValueLoss } from './cartpole/reference-core';

/** Settings of {@link runCartPole}; the defaults are CleanRL `ppo.py`'s for CartPole-v1. */
export interface CartPoleOptions {
  /** Seed of the initialisation, the environments and the sampling. Default `1`. */
  seed?: number;
  /** Environment steps in all (over all environments). Default `500000`. */
  totalSteps?: number;
  /** Parallel environments. Default `4` (CleanRL's `--num-envs`; a rollout is 4 x 128 = 512 steps). */
  numEnvs?: number;
  /** Steps per environment per rollout. Default `128`. */
  numSteps?: number;
  /** Passes over each rollout. Default `4`. */
  epochs?: number;
  /** Minibatches per pass. Default `4`. */
  minibatches?: number;
  /** Adam learning rate, annealed linearly to 0. Default `2.5e-4`. */
  learningRate?: number;
  /** Discount. Default `0.99`. */
  gamma?: number;
  /** GAE lambda. Default `0.95`. */
  lam?: number;
  /** Policy and value clip range. Default `0.2`. */
  clip?: number;
  /** Value loss coefficient. Default `0.5`. */
  vfCoef?: number;
  /** Entropy bonus coefficient. Default `0.01`. */
  entCoef?: number;
  /** Global gradient-norm clip. Default `0.5`. */
  maxGradNorm?: number;
  /**
   * `'library'` (default): tfjs-rlhf's `gae`, `maskedWhiten`, `ppoPolicyLoss`, `ppoValueLoss`.
   * `'reference'`: CleanRL's formulas written out plainly (cartpole/reference-core.ts), for an A/B run.
   */
  core?: 'library' | 'reference';
  /** Called after each iteration (e.g. to print progress). */
  onIteration?: (info: IterationInfo) => void;
}

/** Progress after one rollout and update. */
export interface IterationInfo {
  /** 1-based iteration. */
  iteration: number;
  /** Environment steps so far. */
  globalStep: number;
  /** Mean return of the episodes that ended during this iteration's rollout (NaN if none). */
  meanReturn: number;
  /** Mean return of the last 20 episodes so far (NaN if none). */
  last20: number;
}

/** Result of {@link runCartPole}. */
export interface CartPoleResult {
  seed: number;
  /** Returns of all finished episodes, in the order they ended. */
  episodeReturns: number[];
  /** Mean return of the last 20 episodes. */
  last20: number;
  /** Mean return of the last 100 episodes (the statistic of CleanRL's benchmark tables). */
  last100: number;
  /** Per-iteration progress. */
  iterations: IterationInfo[];
  /** Environment steps taken. */
  globalStep: number;
  /** Wall time in seconds. */
  seconds: number;
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The rollout buffers, `[T, N]` row-major (index `t * N + e`), as in CleanRL. */
interface Rollout {
  obs: Float32Array; // [T, N, 4]
  actions: Int32Array; // [T, N]
  logProbs: Float32Array; // [T, N]
  values: Float32Array; // [T, N]
  rewards: Float32Array; // [T, N]
  dones: Float32Array; // [T, N]: the episode ended at this step (terminated or truncated)
  nextValues: Float32Array; // [N]: V(obs after the last step), the bootstrap
}

/** Runs PPO on CartPole-v1 for one seed. Set the backend first (e.g. `await useBackend('wasm')`). */
export function runCartPole(options: CartPoleOptions = {}): CartPoleResult {
  const o = {
    seed: 1, totalSteps: 500_000, numEnvs: 4, numSteps: 128, epochs: 4, minibatches: 4, learningRate: 2.5e-4,
    gamma: 0.99, lam: 0.95, clip: 0.2, vfCoef: 0.5, entCoef: 0.01, maxGradNorm: 0.5, core: 'library' as 'library' | 'reference', ...options,
  };
  const t0 = Date.now();
  const N = o.numEnvs;
  const T = o.numSteps;
  const iterations = Math.max(1, Math.floor(o.totalSteps / (N * T)));
  const agent = new Agent(new SeededRandom(o.seed, 1));
  const sampler = new SeededRandom(o.seed, 2);
  const envs = new VectorCartPole(N, o.seed);
  const optimizer = new AdamW(agent.variables, { learningRate: o.learningRate, epsilon: 1e-5, weightDecay: 0 });
  const episodeReturns: number[] = [];
  const history: IterationInfo[] = [];
  let globalStep = 0;
  try {
    for (let it = 1; it <= iterations; it++) {
      const lr = (1 - (it - 1) / iterations) * o.learningRate; // linear annealing
      const before = episodeReturns.length;
      const ro = collect(agent, envs, sampler, T, episodeReturns);
      globalStep += N * T;
      const gaeFn = o.core === 'reference' ? referenceAdvantages : computeAdvantages;
      const { advantages, returns } = gaeFn(ro, N, T, o.gamma, o.lam);
      update(agent, optimizer, ro, advantages, returns, lr, sampler, o);
      const info = {
        iteration: it, globalStep, meanReturn: mean(episodeReturns.slice(before)), last20: mean(episodeReturns.slice(-20)),
      };
      history.push(info);
      o.onIteration?.(info);
    }
  } finally {
    optimizer.dispose();
    agent.dispose();
  }
  const last20 = mean(episodeReturns.slice(-20));
  const last100 = mean(episodeReturns.slice(-100));
  return { seed: o.seed, episodeReturns, last20, last100, iterations: history, globalStep, seconds: (Date.now() - t0) / 1000 };
}

/** Plays `T` steps in each environment with the current policy (sampling actions). */
function collect(agent: Agent, envs: VectorCartPole, rng: SeededRandom, T: number, episodeReturns: number[]): Rollout {
  const N = envs.n;
  const ro: Rollout = {
    obs: new Float32Array(T * N * 4), actions: new Int32Array(T * N), logProbs: new Float32Array(T * N),
    values: new Float32Array(T * N), rewards: new Float32Array(T * N), dones: new Float32Array(T * N), nextValues: new Float32Array(N),
  };
  const rewards = new Float32Array(N);
  const dones = new Float32Array(N);
  const actions = new Int32Array(N);
  for (let t = 0; t < T; t++) {
    ro.obs.set(envs.obs, t * N * 4);
    const [logp, value] = tf.tidy(() => {
      const x = tf.tensor2d(envs.obs, [N, 4]); // [N, 4]
      return [tf.logSoftmax(agent.logits(x)), agent.value(x)]; // [N, 2], [N]
    });
    const lp = logp.dataSync();
    ro.values.set(value.dataSync(), t * N);
    tf.dispose([logp, value]);
    for (let e = 0; e < N; e++) {
      const a = rng.next() < Math.exp(lp[e * 2 + 1] as number) ? 1 : 0;
      actions[e] = a;
      ro.actions[t * N + e] = a;
      ro.logProbs[t * N + e] = lp[e * 2 + a] as number;
    }
    for (const ep of envs.step(actions, rewards, dones)) episodeReturns.push(ep.return);
    ro.rewards.set(rewards, t * N);
    ro.dones.set(dones, t * N);
  }
  const next = tf.tidy(() => agent.value(tf.tensor2d(envs.obs, [N, 4]))); // [N]
  ro.nextValues.set(next.dataSync());
  next.dispose();
  return ro;
}

/** CleanRL's GAE with `dones` and the bootstrap, through the core's padded `gae` (see cartpole/fragments.ts). */
function computeAdvantages(ro: Rollout, N: number, T: number, gamma: number, lam: number): { advantages: Float32Array; returns: Float32Array } {
  const batch = toFragments(ro, N, T, gamma); // rows [B, T]: one per episode fragment
  const shape: [number, number] = [batch.B, batch.L];
  const out = tf.tidy(() => {
    const res = gae(tf.tensor2d(batch.rewards, shape), tf.tensor2d(batch.values, shape), tf.tensor2d(batch.mask, shape), { gamma, lam });
    return [res.advantages, res.returns];
  });
  const [adv, ret] = out.map((x) => x.dataSync());
  tf.dispose(out);
  return { advantages: fromFragments(batch, adv as Float32Array, N, T), returns: fromFragments(batch, ret as Float32Array, N, T) };
}

type UpdateSettings = Required<Omit<CartPoleOptions, 'onIteration'>>;

/** `epochs` passes of `minibatches` shuffled minibatches: PPO-clip loss, clipped value loss, entropy bonus. */
function update(
  agent: Agent, optimizer: AdamW, ro: Rollout, advantages: Float32Array, returns: Float32Array, lr: number,
  rng: SeededRandom, o: UpdateSettings,
): void {
  const size = ro.actions.length;
  const M = Math.floor(size / o.minibatches);
  const vars = agent.variables;
  const ref = o.core === 'reference';
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const perm = rng.permutation(size);
    for (let k = 0; k < o.minibatches; k++) {
      const idx = perm.slice(k * M, (k + 1) * M);
      const pick = (src: Float32Array) => Float32Array.from(idx, (i) => src[i] as number);
      const obs = new Float32Array(M * 4);
      idx.forEach((i, j) => obs.set(ro.obs.subarray(i * 4, i * 4 + 4), j * 4));
      tf.tidy(() => {
        const x = tf.tensor2d(obs, [M, 4]); // [M, 4]
        const act = tf.oneHot(tf.tensor1d(Int32Array.from(idx, (i) => ro.actions[i] as number), 'int32'), 2); // [M, 2]
        const mask = tf.ones([1, M]); // [1, M]: no padding here
        const oldLogProbs = tf.tensor2d(pick(ro.logProbs), [1, M]);
        const oldValues = tf.tensor2d(pick(ro.values), [1, M]);
        const ret = tf.tensor2d(pick(returns), [1, M]);
        const rawAdv = tf.tensor2d(pick(advantages), [1, M]);
        const adv = ref ? referenceNormalize(rawAdv) : maskedWhiten(rawAdv, mask); // per-minibatch normalisation
        const { grads } = tf.variableGrads(() => {
          const logp = tf.logSoftmax(agent.logits(x)); // [M, 2]
          const logProbs = tf.reshape(tf.sum(tf.mul(logp, act), 1), [1, M]); // [1, M]
          const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1))); // scalar
          const pg = ref ? referencePolicyLoss(logProbs, oldLogProbs, adv, o.clip) : ppoPolicyLoss({ logProbs, oldLogProbs, advantages: adv, mask, clipRange: o.clip }).loss;
          const values = tf.reshape(agent.value(x), [1, M]); // [1, M]
          const vl = ref ? referenceValueLoss(values, oldValues, ret, o.clip) : ppoValueLoss({ values, oldValues, returns: ret, mask, clipRangeValue: o.clip }).loss;
          return tf.addN([pg, tf.mul(-o.entCoef, entropy), tf.mul(o.vfCoef, vl)]) as tf.Scalar;
        }, vars);
        const clipped = clipByGlobalNorm(vars.map((v) => grads[v.name] as tf.Tensor), o.maxGradNorm);
        optimizer.applyGradients(clipped.grads, lr);
      });
    }
  }
}

/** The parsed command line. */
interface CliArgs {
  seeds: number[];
  totalSteps: number;
  out?: string;
  backend: 'cpu' | 'wasm';
  learningRate: number;
  numEnvs: number;
  core: 'library' | 'reference';
}

/** Parses the CLI flags. */
function parseArgs(argv: string[]): CliArgs {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, s: string) => {
    const n = Number(s);
    if (!Number.isInteger(n)) throw new Error(`${flag} must be an integer, got ${JSON.stringify(s.slice(0, 40))}`);
    return n;
  };
  const seedsArg = get('--seeds');
  const seeds = seedsArg !== undefined ? seedsArg.split(',').map((s) => int('--seeds', s)) : [int('--seed', get('--seed') ?? '1')];
  const totalSteps = int('--total-steps', get('--total-steps') ?? '500000');
  const numEnvs = int('--num-envs', get('--num-envs') ?? '4');
  if (numEnvs < 1 || numEnvs > 256) throw new Error(`--num-envs must be in 1..256, got ${numEnvs}`);
  const backend = get('--backend') ?? 'wasm';
  if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`--backend must be cpu or wasm, got ${backend.slice(0, 40)}`);
  const learningRate = Number(get('--learning-rate') ?? '2.5e-4');
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new Error('--learning-rate must be a number > 0');
  const core = get('--core') ?? 'library';
  if (core !== 'library' && core !== 'reference') throw new Error(`--core must be library or reference, got ${core.slice(0, 40)}`);
  return { seeds, totalSteps, out: get('--out'), backend, learningRate, numEnvs, core };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await useBackend(args.backend);
  const results: (CartPoleResult & { tensorsLeft: number })[] = [];
  for (const seed of args.seeds) {
    const tensorsBefore = tf.memory().numTensors;
    const res = runCartPole({
      seed,
      totalSteps: args.totalSteps,
      learningRate: args.learningRate,
      numEnvs: args.numEnvs,
      core: args.core,
      onIteration: (i) => {
        if (i.iteration % 25 === 0) console.log(`seed ${seed}  step ${i.globalStep}  last-20 mean return ${i.last20.toFixed(1)}`);
      },
    });
    console.log(
      `seed ${seed}: last-20-episode mean return ${res.last20.toFixed(1)}, last-100 ${res.last100.toFixed(1)} (${res.episodeReturns.length} episodes, ${res.seconds.toFixed(0)} s)`,
    );
    results.push({ ...res, tensorsLeft: tf.memory().numTensors - tensorsBefore });
    if (args.out !== undefined) {
      const summary = results.map(({ episodeReturns, iterations, ...r }) => ({
        ...r, episodes: episodeReturns.length, curve: iterations.map((i) => [i.globalStep, i.last20, i.meanReturn]),
      }));
      const { backend, core, totalSteps, learningRate, numEnvs } = args;
      writeFileSync(args.out, JSON.stringify({ backend, core, totalSteps, learningRate, numEnvs, results: summary }, null, 1));
    }
  }
  if (results.length > 1) console.log(`mean over ${results.length} seeds: ${mean(results.map((r) => r.last20)).toFixed(1)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
