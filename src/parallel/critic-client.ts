/**
 * `CriticWorker`: the main thread's side of PPO's critic worker (./critic-worker). The trainer's
 * critic and optimizer stay the authoritative copies: the worker gets them when it starts or when they
 * changed since it last matched them ({@link CriticWorker.refresh}), and gives the critic's weights and
 * moments back after each update ({@link CriticWorker.pull}). Any worker failure shuts the worker down
 * (the next call starts a fresh one from the main thread's copies) and surfaces as a `WorkerError`.
 * @internal
 * @module
 */
import { tf } from '../tf';
import { RlhfError, WorkerError } from '../errors';
import type { Logger } from '../logging/logger';
import type { AdamW } from '../optim/adamw';
import type { RewardModel } from '../reward/reward-model';
import { spawnWorker } from './channel';
import type { WorkerHandle } from './handle';
import { dataVersions, sameVersions } from './versions';
import type { WorkerMemory } from './protocol';
import type { CriticOptimizerOptions, CriticTask, EvaluateTask, FromCritic, ToCritic } from './critic-protocol';

/** Options of {@link CriticWorker}. */
export interface CriticWorkerOptions {
  /** The trainer's separate critic. */
  critic: RewardModel;
  /** The reward model, when the reward is one (it is frozen: copied once). */
  reward?: RewardModel;
  /** The trainer's optimizer; the critic's variables are its range `first ..` to the end. */
  opt: AdamW;
  /** Index of the critic's first variable in `opt`. */
  first: number;
  /** The optimizer's hyperparameters. */
  optimizer: Omit<CriticOptimizerOptions, 'decayFlags'>;
  /** Receives lifecycle messages. */
  logger: Logger;
}

type Handle = WorkerHandle<ToCritic, FromCritic>;
type Evaluated = Extract<FromCritic, { type: 'evaluated' }>;
type Grads = Extract<FromCritic, { type: 'grads' }>;

/** PPO's critic worker, seen from the main thread; see the module notes. */
export class CriticWorker {
  private handle: Handle | undefined;
  private gen = 0;
  private synced: { versions: object[]; step: number } | undefined;
  private rewardCopied: { versions: object[]; gain: number; bias: number } | undefined;

  constructor(private readonly o: CriticWorkerOptions) {}

  private get count(): number {
    return this.o.opt.variables.length - this.o.first;
  }

  private async start(): Promise<Handle> {
    if (this.handle !== undefined) return this.handle;
    const t0 = performance.now();
    const h = await spawnWorker<ToCritic, FromCritic>('critic', 1, {
      critic: this.o.critic.toSafetensors(), ...(this.o.reward && { reward: this.o.reward.toSafetensors() }),
      optimizer: { ...this.o.optimizer, decayFlags: this.o.opt.decayFlags.slice(this.o.first) },
      state: this.o.opt.exportState(this.o.first),
    });
    try {
      await h.ready();
    } catch (e) {
      await h.terminate();
      throw e;
    }
    this.handle = h;
    this.rewardCopied = this.rewardKey();
    this.markSynced();
    this.o.logger.log('info', 'PPO critic worker started', { ms: Math.round(performance.now() - t0) });
    return h;
  }

  private criticVariables(): tf.Variable[] {
    return this.o.opt.variables.slice(this.o.first) as tf.Variable[];
  }

  private markSynced(): void {
    this.synced = { versions: dataVersions(this.criticVariables()), step: this.o.opt.step };
  }

  /** What identifies the reward model's state: its weights' data ids and its normalisation. */
  private rewardKey(): { versions: object[]; gain: number; bias: number } | undefined {
    const rm = this.o.reward;
    return rm === undefined ? undefined : { versions: dataVersions(rm.trainableVariables), ...rm.normalization };
  }

  /** Whether the reward model changed since the worker copied it. */
  private rewardChanged(): boolean {
    const [was, now] = [this.rewardCopied, this.rewardKey()];
    return was !== undefined && now !== undefined && !(sameVersions(was.versions, now.versions) && was.gain === now.gain && was.bias === now.bias);
  }

  /** Runs `f` on the live worker; a worker failure shuts it down and rethrows. */
  private async guard<T>(f: (h: Handle) => Promise<T>): Promise<T> {
    const h = await this.start();
    try {
      if (h.failure !== undefined) throw h.failure;
      return await f(h);
    } catch (e) {
      if (e instanceof WorkerError) await this.dispose();
      throw e;
    }
  }

  /**
   * Starts the worker if needed and gives it the main thread's critic and moments if they changed; a
   * reward model changed since the worker copied it (PPO treats it as frozen) restarts the worker.
   */
  async refresh(): Promise<void> {
    if (this.handle !== undefined && this.rewardChanged()) await this.dispose();
    const fresh = this.handle === undefined;
    await this.guard(async (h) => {
      const s = this.synced;
      if (fresh || (s !== undefined && s.step === this.o.opt.step && sameVersions(s.versions, dataVersions(this.criticVariables())))) return;
      const weights = this.criticVariables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
      const done = h.expect('synced');
      h.post({ type: 'sync', weights, state: this.o.opt.exportState(this.o.first) });
      await done;
      this.markSynced();
    });
  }

  /** Values on each chunk (and reward scores when asked), computed in the worker. */
  evaluate(task: EvaluateTask): Promise<Evaluated> {
    return this.guard(async (h) => {
      const gen = ++this.gen;
      const reply = h.expect('evaluated', gen);
      h.post({ type: 'evaluate', gen, task });
      return reply;
    });
  }

  /**
   * Starts the critic's half of a minibatch: returns its generation and a promise of its squared
   * gradient norm and value-loss metrics. Every call must be followed by {@link CriticWorker.decide}.
   */
  async grad(task: CriticTask): Promise<{ gen: number; reply: Promise<Grads> }> {
    const h = await this.start();
    if (h.failure !== undefined) throw h.failure;
    const gen = ++this.gen;
    const reply = h.expect('grads', gen).catch(async (e: unknown) => {
      if (e instanceof WorkerError) await this.dispose();
      throw e;
    });
    h.post({ type: 'grad', gen, task });
    return { gen, reply };
  }

  /** Applies (`go`) or drops the critic's gradient of minibatch `gen`, scaled by `scale`. */
  decide(gen: number, go: boolean, scale: number, learningRate: number): void {
    this.handle?.post({ type: 'decide', gen, go, scale, learningRate });
  }

  /** Copies the worker's critic weights and moments into the main thread's critic and optimizer. */
  async pull(): Promise<void> {
    await this.guard(async (h) => {
      const reply = h.expect('state');
      h.post({ type: 'export' });
      const { weights, state } = await reply;
      if (state.step !== this.o.opt.step) throw new RlhfError(`internal: the critic worker is at step ${state.step}, the optimizer at ${this.o.opt.step}`);
      this.criticVariables().forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(weights[i] as Float32Array, v.shape, 'float32'))));
      this.o.opt.importState(state, this.o.first, this.count);
      this.markSynced();
    });
  }

  /** The worker's memory, or nothing when it is not running. */
  async memory(): Promise<WorkerMemory[]> {
    const h = this.handle;
    if (h === undefined || h.failure !== undefined) return [];
    const reply = h.expect('stats');
    h.post({ type: 'stats' });
    return [(await reply).memory];
  }

  /** Test hook: makes the worker throw or exit at its next minibatch. */
  async injectFault(how: 'throw' | 'exit'): Promise<void> {
    (await this.start()).post({ type: 'crash', how });
  }

  /** Ends the worker thread (a later call starts a fresh one); never throws. */
  async dispose(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    this.synced = undefined;
    await h?.terminate().catch(() => undefined);
  }
}
