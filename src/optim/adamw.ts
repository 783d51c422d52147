/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
 * Regularization", 2019), over a fixed, ordered list of variables. TensorFlow.js has no AdamW, and
 * its `AdamOptimizer` keys moments by position in an opaque way; this optimizer keeps its moments in
 * the same order as the variables it was given, and exports them as plain `Float32Array`s so they can
 * be saved in a checkpoint (e.g. safetensors) and restored exactly.
 * @module
 */
import { tf } from '../tf';
import { ConfigError, InputError, RlhfError } from '../errors';
import { adamwUpdate } from '../backends/fused-ops';
import { checkStateTensor, resolveAdamWOptions, sameShape, type AdamWOptions, type AdamWState, type ResolvedAdamWOptions, type StateTensor } from './adamw-options';

export type { AdamWOptions, AdamWState, EpsilonPlacement, StateTensor } from './adamw-options';

/**
 * Adam with decoupled weight decay over a fixed, ordered list of `tf.Variable`s.
 *
 * Each step, for variable `w` with gradient `g` (t counted from 1):
 * `m = beta1*m + (1-beta1)*g`, `v = beta2*v + (1-beta2)*g²`, then
 * `w = w*(1 - lr*weightDecay) - update` with `update` as described in {@link EpsilonPlacement}
 * (the decay factor is 1 for variables excluded by `decayMask`). Moments are non-trainable
 * variables created on the first update (or on {@link AdamW.importState}); free them with
 * {@link AdamW.dispose}.
 *
 * @example
 * ```ts
 * const opt = new AdamW(model.trainableVariables, { learningRate: 3e-4, weightDecay: 0.1 });
 * opt.applyGradients(grads, schedule(opt.step));
 * ```
 */
export class AdamW {
  private readonly vars: readonly tf.Variable[];
  private readonly opts: ResolvedAdamWOptions;
  private readonly decayed: readonly boolean[];
  private m: tf.Variable[] | null = null;
  private v: tf.Variable[] | null = null;
  private t = 0;
  private disposed = false;

  /**
   * @param variables - the variables to update, in the order gradients will be given; float32.
   * @param options - hyperparameters; see {@link AdamWOptions}. Validated here (throws {@link ConfigError}).
   */
  constructor(variables: readonly tf.Variable[], options: AdamWOptions = {}) {
    if (!Array.isArray(variables)) throw new ConfigError('variables', variables, 'must be an array of tf.Variable');
    variables.forEach((x, i) => {
      const ok = x instanceof tf.Variable && x.dtype === 'float32';
      if (!ok) throw new ConfigError(`variables[${i}]`, x?.dtype ?? x, 'must be a float32 tf.Variable');
    });
    this.opts = resolveAdamWOptions(options);
    this.vars = [...variables];
    const mask = options.decayMask ?? ((x: tf.Variable) => x.rank >= 2);
    this.decayed = this.vars.map((x, i) => mask(x, i) === true);
  }

  /** Number of updates applied so far (0 before the first {@link AdamW.applyGradients}). */
  get step(): number {
    return this.t;
  }

  /** The default learning rate (used when {@link AdamW.applyGradients} gets no override). */
  get learningRate(): number {
    return this.opts.learningRate;
  }

  /** The variables this optimizer updates, in order. */
  get variables(): readonly tf.Variable[] {
    return this.vars;
  }

  /** Whether weight decay applies to each variable, in variable order (the resolved `decayMask`). */
  get decayFlags(): readonly boolean[] {
    return this.decayed;
  }

  /**
   * Apply one update. Runs one fused kernel per variable on wasm (a handful of tf ops elsewhere) and
   * leaves no tensors behind;
   * `grads` are not disposed.
   * @param grads - one gradient per variable, same order and shape as the variables.
   * @param learningRate - this step's learning rate (e.g. from a schedule); default: the option's.
   * @param gradScale - multiplies every gradient first (e.g. a global-norm clip factor, as
   *   {@link clipByGlobalNorm} would apply, without materialising the clipped gradients); finite, >= 0.
   *   Default 1.
   * @throws {@link InputError} if the gradients do not match the variables or the rate or scale is invalid.
   */
  applyGradients(grads: readonly tf.Tensor[], learningRate?: number, gradScale = 1): void {
    this.applyGradientsFrom(0, grads, learningRate, this.vars.length, gradScale);
  }

  /**
   * One update of the variables `first .. first + grads.length - 1` only (the others, and their
   * moments, stay as they are); the step count advances as for a full update. For an optimizer whose
   * variables are split between threads (e.g. PPO's policy here, its critic in a worker that runs an
   * AdamW over the rest from {@link AdamW.exportState}`(first, count)`).
   * @throws {@link InputError} if the range or the gradients do not match the variables.
   */
  applyGradientsToRange(first: number, grads: readonly tf.Tensor[], learningRate?: number, gradScale = 1): void {
    this.applyGradientsFrom(first, grads, learningRate, Array.isArray(grads) ? grads.length : -1, gradScale);
  }

  private applyGradientsFrom(first: number, grads: readonly tf.Tensor[], learningRate: number | undefined, count: number, gradScale: number): void {
    this.assertLive();
    const lr = learningRate ?? this.opts.learningRate;
    if (!(typeof lr === 'number' && Number.isFinite(lr) && lr >= 0)) {
      throw new InputError('learningRate', lr, 'must be a finite number >= 0');
    }
    if (!(typeof gradScale === 'number' && Number.isFinite(gradScale) && gradScale >= 0)) {
      throw new InputError('gradScale', gradScale, 'must be a finite number >= 0');
    }
    this.checkRange(first, count);
    this.checkGrads(grads, first, count);
    const [ms, vs] = this.ensureMoments();
    const { beta1, beta2, epsilon, epsilonPlacement, weightDecay } = this.opts;
    const t = this.t + 1;
    const sqrtBc2 = Math.sqrt(1 - beta2 ** t);
    // Both placements reduce to  update = a * m / (sqrt(v) + e)  with scalar a and e:
    // pytorch: (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps) = (lr*sqrt(bc2)/bc1) * m / (sqrt(v) + eps*sqrt(bc2)).
    const stepSize = (lr * sqrtBc2) / (1 - beta1 ** t);
    const eps = epsilonPlacement === 'pytorch' ? epsilon * sqrtBc2 : epsilon;
    tf.tidy(() => {
      for (let i = first; i < first + count; i++) {
        const decay = weightDecay > 0 && this.decayed[i] === true ? 1 - lr * weightDecay : 1;
        const s = { c1: 1 - beta1, c2: 1 - beta2, stepSize, eps, decay, gradScale: Math.fround(gradScale) };
        const [w, m, v] = [this.vars[i], ms[i], vs[i]] as [tf.Variable, tf.Variable, tf.Variable];
        const [wNew, mNew, vNew] = adamwUpdate(w, m, v, grads[i - first] as tf.Tensor, s);
        m.assign(mNew);
        v.assign(vNew);
        w.assign(wNew);
      }
    });
    this.t = t;
  }

  /**
   * The step count and moments as plain typed arrays (copies), for checkpoints. Before the first
   * update the moments are zeros. Reads tensor data synchronously. With `first`/`count`, the moments of
   * those variables only, keyed from 0 (the state of an AdamW over just them).
   */
  exportState(first = 0, count = this.vars.length - first): AdamWState {
    this.assertLive();
    this.checkRange(first, count);
    const tensors: Record<string, StateTensor> = {};
    const read = (xs: tf.Variable[] | null, w: tf.Variable, i: number): StateTensor => ({
      dtype: 'float32',
      shape: [...w.shape],
      data: xs ? Float32Array.from((xs[i] as tf.Variable).dataSync()) : new Float32Array(w.size),
    });
    for (let i = first; i < first + count; i++) {
      const w = this.vars[i] as tf.Variable;
      tensors[`m.${i - first}`] = read(this.m, w, i);
      tensors[`v.${i - first}`] = read(this.v, w, i);
    }
    return { step: this.t, tensors };
  }

  /**
   * Restore a state produced by {@link AdamW.exportState} (of an optimizer over variables of the same
   * shapes, in the same order). Everything is validated before anything changes; the data is copied.
   * With `first`/`count`, the moments of those variables only (keyed from 0, as exported with the same
   * range); the others keep theirs. The step count is the state's either way.
   * @throws {@link InputError} naming the offending key if the step, a key, dtype, shape or length mismatches.
   */
  importState(state: AdamWState, first = 0, count = this.vars.length - first): void {
    this.assertLive();
    const step = state?.step;
    if (!(typeof step === 'number' && Number.isInteger(step) && step >= 0)) {
      throw new InputError('state.step', step, 'must be an integer >= 0');
    }
    const tensors = state.tensors;
    if (typeof tensors !== 'object' || tensors === null) {
      throw new InputError('state.tensors', tensors, 'must be an object of tensors keyed m.{i} and v.{i}');
    }
    this.checkRange(first, count);
    const keys = Array.from({ length: count }, (_, i) => [`m.${i}`, `v.${i}`]).flat();
    keys.forEach((k, j) => checkStateTensor(k, tensors[k], (this.vars[first + (j >> 1)] as tf.Variable).shape));
    const extra = Object.keys(tensors).find((k) => !keys.includes(k));
    if (extra !== undefined) {
      throw new InputError('state.tensors', extra, `unexpected key: this optimizer has ${this.vars.length} variables`);
    }
    const [ms, vs] = this.ensureMoments();
    const load = (x: tf.Variable, key: string): void =>
      tf.tidy(() => x.assign(tf.tensor((tensors[key] as StateTensor).data.slice(), x.shape, 'float32')));
    for (let i = 0; i < count; i++) {
      load(ms[first + i] as tf.Variable, `m.${i}`);
      load(vs[first + i] as tf.Variable, `v.${i}`);
    }
    this.t = step;
  }

  /** Free the moment variables. The optimizer cannot be used afterwards; the variables it updated are untouched. */
  dispose(): void {
    if (this.disposed) return;
    this.m?.forEach((x) => x.dispose());
    this.v?.forEach((x) => x.dispose());
    this.m = null;
    this.v = null;
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new RlhfError('AdamW: the optimizer has been disposed');
  }

  private checkRange(first: number, count: number): void {
    const n = this.vars.length;
    if (!(Number.isInteger(first) && first >= 0 && first <= n)) throw new InputError('first', first, `must be an integer in [0, ${n}]`);
    if (!(Number.isInteger(count) && count >= 0 && first + count <= n)) throw new InputError('count', count, `must be an integer in [0, ${n - first}]`);
  }

  private checkGrads(grads: readonly tf.Tensor[], first: number, count: number): void {
    if (!Array.isArray(grads) || grads.length !== count) {
      const n = Array.isArray(grads) ? grads.length : grads;
      throw new InputError('grads.length', n, `must equal the number of variables updated (${count})`);
    }
    grads.forEach((g, i) => {
      const w = this.vars[first + i] as tf.Variable;
      if (!(g instanceof tf.Tensor) || g.isDisposed) throw new InputError(`grads[${i}]`, g, 'must be a live tf.Tensor');
      if (g.dtype !== 'float32') throw new InputError(`grads[${i}].dtype`, g.dtype, "must be 'float32'");
      if (!sameShape(g.shape, w.shape)) {
        throw new InputError(`grads[${i}].shape`, g.shape, `must equal the variable's shape [${w.shape.join(', ')}]`);
      }
    });
  }

  private ensureMoments(): [tf.Variable[], tf.Variable[]] {
    if (this.m === null || this.v === null) {
      const zeros = (w: tf.Variable): tf.Variable => tf.tidy(() => tf.variable(tf.zeros(w.shape, 'float32'), false));
      this.m = this.vars.map(zeros);
      this.v = this.vars.map(zeros);
    }
    return [this.m, this.v];
  }
}
