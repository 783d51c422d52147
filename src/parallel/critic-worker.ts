/**
 * Entry point of PPO's critic worker thread (built as dist/critic-worker.js; protocol in
 * ./critic-protocol). It holds the separate critic, an AdamW over the critic's variables and the reward
 * model, on its own single-threaded backend. Per PPO step it computes the rollout's values (and reward
 * scores) while the main thread computes log-probs; per minibatch it computes the value loss's
 * gradient, reports its squared norm, and applies or drops it on the main thread's decision.
 * @internal
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tf } from '../tf';
import { RewardModel } from '../reward/reward-model';
import { AdamW } from '../optim/adamw';
import { ppoValueLoss } from '../rl/losses';
import { criticValues } from '../ppo/forward';
import { sumOfSquares } from '../optim/clip';
import { errorMessage, startWorkerBackend, workerMemory } from './worker-common';
import type { CriticInit, CriticTask, EvaluateTask, FromCritic, ToCritic } from './critic-protocol';

const init = workerData as CriticInit;
const port = parentPort;
let critic: RewardModel | undefined;
let reward: RewardModel | undefined;
let opt: AdamW | undefined;
/** The gradients of the last `grad` message, held until its `decide`. */
let pending: { gen: number; grads: tf.Tensor[] } | undefined;
let fault: 'throw' | 'exit' | undefined;

function send(m: FromCritic, transfer?: ArrayBuffer[]): void {
  port?.postMessage(m, transfer);
}

async function start(): Promise<void> {
  await startWorkerBackend(init.backend, 'critic worker');
  critic = RewardModel.fromSafetensors(init.critic, undefined, 'critic');
  if (init.reward !== undefined) reward = RewardModel.fromSafetensors(init.reward, undefined, 'reward model');
  const { decayFlags, ...options } = init.optimizer;
  opt = new AdamW(critic.trainableVariables, { ...options, decayMask: (_, i) => decayFlags[i] === true });
  opt.importState(init.state);
}

function sync(weights: Float32Array[], state: CriticInit['state']): void {
  const vars = (opt as AdamW).variables as tf.Variable[];
  if (weights.length !== vars.length) throw new Error(`critic worker: ${weights.length} weights for ${vars.length} variables`);
  vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape, 'float32'))));
  (opt as AdamW).importState(state);
}

async function evaluate(gen: number, t: EvaluateTask): Promise<void> {
  const values = t.chunks.map((c) => {
    const v = tf.tidy(() => criticValues(critic as RewardModel, c, t.P, t.R)); // [n, R]
    try {
      return Float32Array.from(v.dataSync() as Float32Array);
    } finally {
      v.dispose();
    }
  });
  const scores = t.score === undefined || reward === undefined ? null : await reward.score(t.score.promptIds, t.score.responseIds);
  send({ type: 'evaluated', gen, values, scores }, values.map((v) => v.buffer as ArrayBuffer));
}

function grad(gen: number, t: CriticTask): void {
  if (fault === 'throw') {
    fault = undefined;
    throw new Error('injected fault (test hook)');
  }
  if (fault === 'exit') process.exit(3);
  dropPending();
  const vars = (opt as AdamW).variables as tf.Variable[];
  const n = t.batch.batch;
  let metrics: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const vf = ppoValueLoss({
      values: criticValues(critic as RewardModel, t.batch, t.P, t.R), oldValues: tf.tensor2d(t.oldValues, [n, t.R]),
      returns: tf.tensor2d(t.returns, [n, t.R]), mask: tf.tensor2d(t.mask, [n, t.R]), clipRangeValue: t.clipRangeValue,
    });
    metrics = [tf.keep(vf.loss), tf.keep(vf.clipFrac)];
    return tf.mul(vf.loss, t.vfCoef) as tf.Scalar;
  }, vars);
  const ordered = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
  const sq = sumOfSquares(ordered);
  const [sumSquares, valueLoss, valueClipFrac] = [sq, ...metrics].map((x) => (x.dataSync() as Float32Array)[0] as number);
  tf.dispose([value, sq, ...metrics, ...Object.values(grads).filter((g) => !ordered.includes(g))]);
  pending = { gen, grads: ordered };
  send({ type: 'grads', gen, sumSquares: sumSquares as number, valueLoss: valueLoss as number, valueClipFrac: valueClipFrac as number });
}

function decide(m: Extract<ToCritic, { type: 'decide' }>): void {
  const p = pending;
  pending = undefined;
  if (p === undefined || p.gen !== m.gen) throw new Error(`critic worker: a decision for minibatch ${m.gen} without its gradients`);
  try {
    if (!m.go) return;
    (opt as AdamW).applyGradients(p.grads, m.learningRate, m.scale);
  } finally {
    tf.dispose(p.grads);
  }
}

function dropPending(): void {
  if (pending !== undefined) tf.dispose(pending.grads);
  pending = undefined;
}

function exportState(): void {
  const o = opt as AdamW;
  const weights = (o.variables as tf.Variable[]).map((v) => Float32Array.from(v.dataSync() as Float32Array));
  const state = o.exportState();
  const buffers = [...weights, ...Object.values(state.tensors).map((t) => t.data)].map((a) => a.buffer as ArrayBuffer);
  send({ type: 'state', weights, state }, buffers);
}

async function handle(m: ToCritic): Promise<void> {
  try {
    if (m.type === 'grad') grad(m.gen, m.task);
    else if (m.type === 'decide') decide(m);
    else if (m.type === 'evaluate') await evaluate(m.gen, m.task);
    else if (m.type === 'sync') {
      dropPending();
      sync(m.weights, m.state);
      send({ type: 'synced' });
    } else if (m.type === 'export') exportState();
    else if (m.type === 'stats') send({ type: 'stats', memory: workerMemory() });
    else if (m.type === 'crash') fault = m.how;
  } catch (e) {
    dropPending();
    send(errorMessage(e));
  }
}

start().then(
  () => {
    let queue = Promise.resolve(); // one message at a time, in order, even across an await
    port?.on('message', (m: ToCritic) => { queue = queue.then(() => handle(m)); });
    send({ type: 'ready' });
  },
  (e: unknown) => send(errorMessage(e)),
);
