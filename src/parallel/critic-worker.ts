/**
 * PPO's critic worker (started by ./worker-entry with kind `'critic'`; protocol in ./critic-protocol).
 * It holds the separate critic, an AdamW over the critic's variables and the reward model, on its own
 * single-threaded backend. Per PPO step it computes the rollout's values (and reward scores) while the
 * main thread computes log-probs; per minibatch it computes the value loss's gradient, reports its
 * squared norm, and applies or drops it on the main thread's decision.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { RewardModel } from '../reward/reward-model';
import { AdamW } from '../optim/adamw';
import { ppoValueLoss } from '../rl/losses';
import { criticValues } from '../ppo/forward';
import { sumOfSquares } from '../optim/clip';
import { errorMessage, injectedFault, startWorkerBackend, workerMemory } from './worker-common';
import type { BackendSetup, HostPort } from './port';
import type { CriticInit, CriticTask, EvaluateTask, FromCritic, ToCritic } from './critic-protocol';

/** The worker's models and optimizer, and the gradients of the last `grad` message until its `decide`. */
class CriticReplica {
  private pending: { gen: number; grads: tf.Tensor[] } | undefined;
  readonly fault: { how?: 'throw' | 'exit' } = {};

  constructor(private readonly port: HostPort, private readonly critic: RewardModel, private readonly reward: RewardModel | undefined, private readonly opt: AdamW) {}

  send(m: FromCritic, transfer?: ArrayBuffer[]): void {
    this.port.post(m, transfer);
  }

  sync(weights: Float32Array[], state: CriticInit['state']): void {
    this.dropPending();
    const vars = this.opt.variables as tf.Variable[];
    if (weights.length !== vars.length) throw new Error(`critic worker: ${weights.length} weights for ${vars.length} variables`);
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape, 'float32'))));
    this.opt.importState(state);
    this.send({ type: 'synced' });
  }

  async evaluate(gen: number, t: EvaluateTask): Promise<void> {
    const values = t.chunks.map((c) => {
      const v = tf.tidy(() => criticValues(this.critic, c, t.P, t.R)); // [n, R]
      try {
        return Float32Array.from(v.dataSync() as Float32Array);
      } finally {
        v.dispose();
      }
    });
    const scores = t.score === undefined || this.reward === undefined ? null : await this.reward.score(t.score.promptIds, t.score.responseIds);
    this.send({ type: 'evaluated', gen, values, scores }, values.map((v) => v.buffer as ArrayBuffer));
  }

  grad(gen: number, t: CriticTask): void {
    if (injectedFault(this.port, this.fault)) return;
    this.dropPending();
    const vars = this.opt.variables as tf.Variable[];
    const n = t.batch.batch;
    let metrics: tf.Scalar[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const vf = ppoValueLoss({
        values: criticValues(this.critic, t.batch, t.P, t.R), oldValues: tf.tensor2d(t.oldValues, [n, t.R]),
        returns: tf.tensor2d(t.returns, [n, t.R]), mask: tf.tensor2d(t.mask, [n, t.R]), clipRangeValue: t.clipRangeValue,
      });
      metrics = [tf.keep(vf.loss), tf.keep(vf.clipFrac)];
      return tf.mul(vf.loss, t.vfCoef) as tf.Scalar;
    }, vars);
    const ordered = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    const sq = sumOfSquares(ordered);
    const [sumSquares, valueLoss, valueClipFrac] = [sq, ...metrics].map((x) => (x.dataSync() as Float32Array)[0] as number);
    tf.dispose([value, sq, ...metrics, ...Object.values(grads).filter((g) => !ordered.includes(g))]);
    this.pending = { gen, grads: ordered };
    this.send({ type: 'grads', gen, sumSquares: sumSquares as number, valueLoss: valueLoss as number, valueClipFrac: valueClipFrac as number });
  }

  decide(m: Extract<ToCritic, { type: 'decide' }>): void {
    const p = this.pending;
    this.pending = undefined;
    if (p === undefined || p.gen !== m.gen) throw new Error(`critic worker: a decision for minibatch ${m.gen} without its gradients`);
    try {
      if (m.go) this.opt.applyGradients(p.grads, m.learningRate, m.scale);
    } finally {
      tf.dispose(p.grads);
    }
  }

  dropPending(): void {
    if (this.pending !== undefined) tf.dispose(this.pending.grads);
    this.pending = undefined;
  }

  exportState(): void {
    const weights = (this.opt.variables as tf.Variable[]).map((v) => Float32Array.from(v.dataSync() as Float32Array));
    const state = this.opt.exportState();
    const buffers = [...weights, ...Object.values(state.tensors).map((t) => t.data)].map((a) => a.buffer as ArrayBuffer);
    this.send({ type: 'state', weights, state }, buffers);
  }

  async handle(m: ToCritic): Promise<void> {
    try {
      if (m.type === 'grad') this.grad(m.gen, m.task);
      else if (m.type === 'decide') this.decide(m);
      else if (m.type === 'evaluate') await this.evaluate(m.gen, m.task);
      else if (m.type === 'sync') this.sync(m.weights, m.state);
      else if (m.type === 'export') this.exportState();
      else if (m.type === 'stats') this.send({ type: 'stats', memory: workerMemory(this.port) });
      else if (m.type === 'crash') this.fault.how = m.how;
    } catch (e) {
      this.dropPending();
      this.send(errorMessage(e));
    }
  }
}

async function startCritic(port: HostPort, init: CriticInit, setup: BackendSetup): Promise<CriticReplica> {
  await startWorkerBackend('critic worker', setup);
  const critic = RewardModel.fromSafetensors(init.critic, undefined, 'critic');
  const reward = init.reward === undefined ? undefined : RewardModel.fromSafetensors(init.reward, undefined, 'reward model');
  const { decayFlags, ...options } = init.optimizer;
  const opt = new AdamW(critic.trainableVariables, { ...options, decayMask: (_, i) => decayFlags[i] === true });
  opt.importState(init.state);
  return new CriticReplica(port, critic, reward, opt);
}

/** Runs PPO's critic worker for `init` until the main thread ends it. */
export async function runCriticWorker(port: HostPort, init: CriticInit, setup: BackendSetup): Promise<void> {
  try {
    const worker = await startCritic(port, init, setup);
    let queue = Promise.resolve(); // one message at a time, in order, even across an await
    port.listen((m) => { queue = queue.then(() => worker.handle(m as ToCritic)); });
    port.post({ type: 'ready' });
  } catch (e) {
    port.post(errorMessage(e));
  }
}
