/**
 * `ReplicaPool`: data-parallel training over worker threads. The main thread's policy and AdamW are
 * replica 0 (and stay the authoritative copy); each worker holds another replica on its own
 * single-threaded backend. A step shards the batch, every replica writes its gradient into a
 * SharedArrayBuffer, the main thread sums the slots in replica order, decides (Atomics barrier), and
 * every replica applies the identical clipped AdamW update. A failure before the decision aborts the
 * step everywhere (nothing is applied; a {@link WorkerError} or the main thread's error is thrown); a
 * worker lost after it only costs the pool (the main thread's replica, the authoritative one, has the
 * whole update).
 * @internal
 * @module
 */
import { NonFiniteError, RlhfError, WorkerError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { AdamW } from '../optim/adamw';
import { ABORT, CTRL_DECISION, CTRL_GEN, GO, HDR_LR, HDR_SCALE, STATS_PER_REPLICA, sharedBytes, sharedViews, type SharedViews } from './layout';
import type { WorkerHandle } from './handle';
import { spawnWorker } from './channel';
import { dataVersions, sameVersions } from './versions';
import type { FromWorker, ReplicaOptimizerOptions, ReplicaState, ToWorker, WorkerMemory } from './protocol';
import { applySummedGradient, computeShardGradient, reduceSlots, variableNames, weightsChecksum, type Replica, type ShardResult } from './replica';
import type { ReplicaModel, ShardTask } from './tasks';

/** Options of {@link ReplicaPool}. */
export interface ReplicaPoolOptions {
  /** Replicas in all, the main thread included (>= 2). */
  replicas: number;
  /** The main thread's model (replica 0). */
  model: ReplicaModel;
  /** Its optimizer, over the model's `trainableVariables` in order. */
  opt: AdamW;
  /** The optimizer's hyperparameters, as given to its constructor (without a decay mask). */
  optimizerOptions: Omit<ReplicaOptimizerOptions, 'decayFlags'>;
  /** Compare every replica's weight checksum with the main thread's after each step. Default `false`. */
  checkReplicas?: boolean;
  /** Receives lifecycle messages. Default: silent. */
  logger?: Logger;
}

/** Options of {@link ReplicaPool.step}. */
export interface PoolStepOptions {
  /** Learning rate of this step. */
  learningRate: number;
  /** Clip the global gradient norm to this; `Infinity` disables clipping. */
  maxGradNorm: number;
  /** Named in errors, e.g. `"SFTTrainer step 3"`. */
  where: string;
}

/** What {@link ReplicaPool.step} returns. */
export interface PoolStepResult {
  /** The batch loss (sum of the shards' shares) before the update. */
  loss: number;
  /** Global norm of the summed gradient before clipping. */
  gradNorm: number;
  /** Each metric's values concatenated over the shards in replica order. */
  metrics: Record<string, number[]>;
}

function mergeMetrics(parts: Record<string, number[]>[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p)) (out[k] ??= []).push(...v);
  return out;
}

/** Worker threads holding model replicas; see the module notes. */
export class ReplicaPool {
  private readonly main: Replica;
  private readonly params: number;
  private readonly logger: Logger;
  private workers: WorkerHandle[] | undefined;
  private views: SharedViews | undefined;
  private starting: Promise<WorkerHandle[]> | undefined;
  private gen = 0;
  private syncedVersions: object[] | undefined;
  private syncedStep = -1;

  constructor(private readonly o: ReplicaPoolOptions) {
    if (!(Number.isInteger(o.replicas) && o.replicas >= 2)) throw new RlhfError(`internal: ReplicaPool needs >= 2 replicas, got ${o.replicas}`);
    this.main = { model: o.model, opt: o.opt };
    this.params = o.opt.variables.reduce((a, v) => a + v.size, 0);
    this.logger = o.logger ?? silentLogger;
  }

  /** Replicas in all, the main thread included. */
  get replicas(): number {
    return this.o.replicas;
  }

  /** Whether the worker threads are running. */
  get started(): boolean {
    return this.workers !== undefined;
  }

  private readState(): ReplicaState {
    const vars = this.o.opt.variables;
    return {
      names: variableNames(this.o.model),
      shapes: vars.map((v) => [...v.shape]),
      values: vars.map((v) => Float32Array.from(v.dataSync() as Float32Array)),
      optimizer: this.o.opt.exportState(),
    };
  }

  private async start(): Promise<WorkerHandle[]> {
    if (this.workers !== undefined) return this.workers;
    this.starting ??= this.spawnAll().finally(() => { this.starting = undefined; });
    return this.starting;
  }

  private async spawnAll(): Promise<WorkerHandle[]> {
    const shared = new SharedArrayBuffer(sharedBytes(this.o.replicas, this.params));
    const views = sharedViews(shared, this.o.replicas, this.params);
    const state = this.readState();
    const optimizer = { ...this.o.optimizerOptions, decayFlags: [...this.o.opt.decayFlags] };
    const config = this.o.model.kind === 'policy' ? this.o.model.policy.config : this.o.model.model.config;
    const modelKind = this.o.model.kind;
    const t0 = performance.now();
    const handles: WorkerHandle[] = [];
    try {
      for (let i = 1; i < this.o.replicas; i++) {
        handles.push(await spawnWorker<ToWorker, FromWorker>('replica', i, { shared, index: i, replicas: this.o.replicas, params: this.params, modelKind, config, optimizer, state }));
      }
      await Promise.all(handles.map((h) => h.ready()));
    } catch (e) {
      await Promise.all(handles.map((h) => h.terminate()));
      throw e;
    }
    this.views = views;
    this.gen = 0;
    this.workers = handles;
    this.markSynced();
    this.logger.log('info', 'worker pool started', { workers: handles.length, replicas: this.o.replicas, ms: Math.round(performance.now() - t0) });
    return handles;
  }

  private markSynced(): void {
    this.syncedVersions = dataVersions(this.o.opt.variables);
    this.syncedStep = this.o.opt.step;
  }

  /**
   * Call before a run of steps: if the main thread's weights or optimizer changed since the pool last
   * matched them (e.g. `importState`, or training elsewhere), the workers get a fresh copy.
   */
  async refresh(): Promise<void> {
    if (this.workers === undefined) return;
    if (this.o.opt.step === this.syncedStep && sameVersions(this.syncedVersions, dataVersions(this.o.opt.variables))) return;
    const state = this.readState();
    await this.guard(async (ws) => {
      for (const w of ws) w.post({ type: 'sync', state });
      await Promise.all(ws.map((w) => w.expect('synced')));
    });
    this.markSynced();
  }

  /** Call after a run of steps: records the weights the workers hold, for {@link ReplicaPool.refresh}. */
  endRun(): void {
    if (this.workers !== undefined) this.markSynced();
  }

  /** Runs `f` on the live workers; any worker failure shuts the pool down and rethrows. */
  private async guard<T>(f: (ws: WorkerHandle[]) => Promise<T>): Promise<T> {
    const ws = await this.start();
    const dead = ws.find((w) => w.failure !== undefined);
    if (dead !== undefined) {
      await this.dispose();
      throw dead.failure;
    }
    try {
      return await f(ws);
    } catch (e) {
      if (e instanceof WorkerError) await this.dispose();
      throw e;
    }
  }

  /** Publishes the decision for `gen` and wakes every worker waiting at the barrier. */
  private decide(gen: number, decision: number): void {
    const v = this.views as SharedViews;
    Atomics.store(v.ctrl, CTRL_DECISION, decision);
    Atomics.store(v.ctrl, CTRL_GEN, gen);
    Atomics.notify(v.ctrl, CTRL_GEN);
  }

  /**
   * One data-parallel step: `tasks[i]` is replica i's shard (0 = the main thread). Returns the batch
   * loss and the global gradient norm before clipping. On any failure nothing is applied anywhere.
   */
  async step(tasks: readonly ShardTask[], o: PoolStepOptions): Promise<PoolStepResult> {
    if (tasks.length !== this.o.replicas) throw new RlhfError(`internal: ${tasks.length} shards for ${this.o.replicas} replicas`);
    return this.guard(async (ws) => {
      const v = this.views as SharedViews;
      const gen = ++this.gen;
      const check = this.o.checkReplicas === true;
      const grads = ws.map((w) => w.expect('grads', gen));
      ws.forEach((w, i) => w.post({ type: 'step', gen, task: tasks[i + 1] as ShardTask, checksum: check }));
      let mainError: unknown;
      let mine: ShardResult = { loss: 0, metrics: {} };
      try {
        mine = computeShardGradient(this.main, tasks[0] as ShardTask, v.slot(0));
        v.stats[0] = mine.loss;
      } catch (e) {
        mainError = e;
      }
      const arrived = await Promise.allSettled(grads);
      const failed = arrived.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined || mainError !== undefined) {
        this.decide(gen, ABORT);
        if (failed !== undefined) throw failed.reason;
        await Promise.all(ws.map((w) => w.expect('aborted', gen)));
        throw mainError;
      }
      let loss = 0;
      for (let r = 0; r < this.o.replicas; r++) loss += v.stats[r * STATS_PER_REPLICA] as number;
      const metrics = mergeMetrics([mine.metrics, ...arrived.map((a) => (a.status === 'fulfilled' && a.value.type === 'grads' ? a.value.metrics : {}))]);
      const gradNorm = reduceSlots(Array.from({ length: this.o.replicas }, (_, r) => v.slot(r)), v.sum);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        this.decide(gen, ABORT);
        await Promise.all(ws.map((w) => w.expect('aborted', gen)));
        throw Number.isFinite(loss) ? new NonFiniteError('gradient norm', gradNorm, o.where) : new NonFiniteError('loss', loss, o.where);
      }
      const scale = Number.isFinite(o.maxGradNorm) ? Math.min(1, o.maxGradNorm / (gradNorm + 1e-6)) : 1;
      v.header[HDR_SCALE] = Math.fround(scale);
      v.header[HDR_LR] = o.learningRate;
      const applied = ws.map((w) => w.expect('applied', gen));
      this.decide(gen, GO);
      applySummedGradient(this.main, v.sum, v.header[HDR_SCALE] as number, o.learningRate); // overlaps the workers' own
      const acks = await Promise.allSettled(applied);
      const lost = acks.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (lost !== undefined) await this.lostAfterDecision(lost.reason, o.where);
      else if (check) this.compareChecksums(acks.map((a) => (a.status === 'fulfilled' && a.value.type === 'applied' ? a.value.checksum : null)));
      return { loss, gradNorm, metrics };
    });
  }

  /**
   * A worker failed after the update was decided: the main thread's replica holds the complete,
   * correct update (it is the authoritative copy), so the step stands. The pool is shut down (a later
   * step starts a fresh one from the main weights) and the failure is logged as a warning.
   */
  private async lostAfterDecision(reason: unknown, where: string): Promise<void> {
    await this.dispose();
    const e = reason instanceof Error ? reason : new Error(String(reason));
    this.logger.log('warn', `${where}: ${e.message}; the update stands on the main thread, the worker pool restarts at the next step`, { error: e.name });
  }

  private compareChecksums(theirs: (number | null)[]): void {
    const mine = weightsChecksum(this.o.opt.variables);
    const bad = theirs.findIndex((c) => c !== mine);
    if (bad >= 0) {
      throw new WorkerError(bad + 1, 'drift', `weights checksum ${theirs[bad]} differs from the main thread's ${mine} after step ${this.o.opt.step}`);
    }
  }

  /** Memory of each worker (live tensors, heap, backend bytes), in worker order. */
  async memory(): Promise<WorkerMemory[]> {
    return this.guard(async (ws) => {
      const replies = ws.map((w) => w.expect('stats'));
      for (const w of ws) w.post({ type: 'stats' });
      return (await Promise.all(replies)).map((m) => (m.type === 'stats' ? m.memory : { numTensors: -1, heapUsedBytes: -1, backendBytes: -1 }));
    });
  }

  /** Test hook: makes worker `index` (1-based) throw or exit during its next step. */
  async injectFault(index: number, how: 'throw' | 'exit'): Promise<void> {
    const ws = await this.start();
    ws[index - 1]?.post({ type: 'crash', how });
  }

  /** Ends the worker threads (a later step starts fresh ones from the main thread's weights). */
  async dispose(): Promise<void> {
    const ws = this.workers;
    this.workers = undefined;
    this.views = undefined;
    this.syncedVersions = undefined;
    if (ws !== undefined) await Promise.all(ws.map((w) => w.terminate()));
  }
}
