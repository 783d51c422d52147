/**
 * KL-coefficient controllers for the RLHF KL penalty: fixed, or adaptive (Ziegler et al. 2019,
 * openai/lm-human-preferences, TRL `AdaptiveKLController`). Plain numbers, no tensors; the state is
 * JSON-serialisable so that a resumed run continues with the same coefficient.
 * @module
 */
import { ConfigError, InputError } from '../errors';
import { checkNumber } from '../ops/validate';

/** Serialisable state of a {@link KLController}, from `getState()`, for `setState()`. */
export interface KLControllerState {
  /** Which controller produced it: `'fixed'` or `'adaptive'`. */
  kind: 'fixed' | 'adaptive';
  /** The current KL coefficient beta. */
  value: number;
}

/** Supplies the KL coefficient beta of the per-token penalty `-beta * KL_t`, and updates it after each batch. */
export interface KLController {
  /** The current KL coefficient beta (>= 0). */
  readonly value: number;
  /**
   * Update beta after a rollout batch.
   * @param currentKl - the measured KL of the batch (e.g. `objective/kl`, mean over sequences of the summed per-token KL), finite.
   * @param nSteps - number of episodes (sequences) in the batch, >= 0.
   */
  update(currentKl: number, nSteps: number): void;
  /** The state to save in a checkpoint. */
  getState(): KLControllerState;
  /**
   * Restore a state from {@link KLController.getState} of the same kind of controller.
   * @param state - the saved state.
   */
  setState(state: KLControllerState): void;
}

function checkState(expected: KLControllerState['kind'], state: KLControllerState): number {
  if (state === null || typeof state !== 'object' || state.kind !== expected) {
    throw new InputError('state.kind', state?.kind, `must be '${expected}'`);
  }
  if (!(typeof state.value === 'number' && Number.isFinite(state.value) && state.value >= 0)) {
    throw new InputError('state.value', state.value, 'must be a finite number >= 0');
  }
  return state.value;
}

/** A constant KL coefficient (TRL's default, beta = 0.05); `update` never changes it. */
export class FixedKLController implements KLController {
  private beta: number;

  /**
   * @param klCoef - the coefficient beta; finite, >= 0.
   * @throws {@link ConfigError} if `klCoef` is not a finite number >= 0.
   */
  constructor(klCoef: number) {
    this.beta = checkNumber('klCoef', klCoef, { ge: 0 });
  }

  /** The coefficient given to the constructor (or restored by `setState`). */
  get value(): number {
    return this.beta;
  }

  /**
   * Does nothing: the coefficient is fixed.
   * @param _currentKl - ignored.
   * @param _nSteps - ignored.
   */
  update(_currentKl: number, _nSteps: number): void {}

  /** `{ kind: 'fixed', value }`. */
  getState(): KLControllerState {
    return { kind: 'fixed', value: this.beta };
  }

  /**
   * Restore a saved state.
   * @param state - from {@link FixedKLController.getState}.
   * @throws {@link InputError} if the state is not a fixed controller's or its value is invalid.
   */
  setState(state: KLControllerState): void {
    this.beta = checkState('fixed', state);
  }
}

/** Options of {@link AdaptiveKLController}. */
export interface AdaptiveKLControllerOptions {
  /** Initial coefficient beta; finite, > 0. Required (no default). */
  initKlCoef: number;
  /** Target KL in nats per sequence; finite, > 0. Default `6`. */
  target?: number;
  /** Horizon in episodes over which the error is corrected; finite, > 0. Default `10000`. */
  horizon?: number;
}

/**
 * Adaptive KL coefficient (Ziegler et al. 2019): after each batch,
 * `e = clip(KL / target - 1, -0.2, 0.2)` and `beta <- beta * (1 + e * n / horizon)`, so beta grows
 * while the KL is above target and shrinks while it is below.
 */
export class AdaptiveKLController implements KLController {
  private beta: number;
  /** The target KL (nats). */
  readonly target: number;
  /** The horizon (episodes). */
  readonly horizon: number;

  /**
   * @param options - see {@link AdaptiveKLControllerOptions}.
   * @throws {@link ConfigError} if an option is not a finite number > 0.
   */
  constructor(options: AdaptiveKLControllerOptions) {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError('AdaptiveKLControllerOptions', options, 'must be an object');
    }
    this.beta = checkNumber('AdaptiveKLControllerOptions.initKlCoef', options.initKlCoef, { gt: 0 });
    this.target = checkNumber('AdaptiveKLControllerOptions.target', options.target ?? 6, { gt: 0 });
    this.horizon = checkNumber('AdaptiveKLControllerOptions.horizon', options.horizon ?? 10000, { gt: 0 });
  }

  /** The current coefficient beta. */
  get value(): number {
    return this.beta;
  }

  /**
   * Apply the Ziegler rule once. `nSteps` must be below `5 * horizon`, so that the multiplier
   * `1 + e * n / horizon` stays > 0 and beta stays positive.
   * @param currentKl - measured KL of the batch (nats per sequence); finite.
   * @param nSteps - episodes in the batch; finite, >= 0 and < 5 * horizon.
   * @throws {@link InputError} if an argument is out of range; beta is then unchanged.
   */
  update(currentKl: number, nSteps: number): void {
    if (!(typeof currentKl === 'number' && Number.isFinite(currentKl))) {
      throw new InputError('currentKl', currentKl, 'must be a finite number');
    }
    if (!(typeof nSteps === 'number' && Number.isFinite(nSteps) && nSteps >= 0 && nSteps < 5 * this.horizon)) {
      throw new InputError('nSteps', nSteps, `must be a finite number >= 0 and < 5 * horizon (${5 * this.horizon})`);
    }
    const e = Math.min(Math.max(currentKl / this.target - 1, -0.2), 0.2);
    this.beta *= 1 + (e * nSteps) / this.horizon;
  }

  /** `{ kind: 'adaptive', value }` (target and horizon are configuration, not state). */
  getState(): KLControllerState {
    return { kind: 'adaptive', value: this.beta };
  }

  /**
   * Restore a saved state.
   * @param state - from {@link AdaptiveKLController.getState}.
   * @throws {@link InputError} if the state is not an adaptive controller's or its value is invalid.
   */
  setState(state: KLControllerState): void {
    this.beta = checkState('adaptive', state);
  }
}
