/**
 * Learning-rate schedules: plain functions from the 0-based index of the update about to be applied
 * to its learning rate. Pass `schedule(optimizer.step)` as the rate of each update.
 * @module
 */
import { ConfigError, InputError } from '../errors';

/**
 * A learning-rate schedule: `step` is the 0-based index of the update about to be applied (finite,
 * >= 0; the schedules here throw {@link InputError} otherwise), the result is its learning rate.
 */
export type LRSchedule = (step: number) => number;

/** Options of {@link warmupCosineSchedule}. */
export interface WarmupCosineOptions {
  /** Learning rate at the end of warmup; finite, > 0. Required. */
  peak: number;
  /** Number of warmup updates; integer >= 0. Required. */
  warmupSteps: number;
  /** Step at which the rate reaches `minLr`; integer >= 1 and >= `warmupSteps`. Required. */
  totalSteps: number;
  /** Final learning rate; finite, in [0, peak]. Default `0`. */
  minLr?: number;
}

/** Options of {@link linearSchedule}. */
export interface LinearScheduleOptions {
  /** Learning rate at step 0; finite, >= 0. Required. */
  start: number;
  /** Learning rate at `totalSteps` and after; finite, >= 0. Required. */
  end: number;
  /** Number of steps over which the rate moves from `start` to `end`; integer >= 1. Required. */
  totalSteps: number;
}

function finiteAtLeast(param: string, v: unknown, lo: number, strict: boolean): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && (strict ? v > lo : v >= lo))) {
    throw new ConfigError(param, v, `must be a finite number ${strict ? '>' : '>='} ${lo}`);
  }
  return v;
}

function integerAtLeast(param: string, v: unknown, lo: number): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= lo)) {
    throw new ConfigError(param, v, `must be an integer >= ${lo}`);
  }
  return v;
}

function checkStep(step: number): void {
  if (!(typeof step === 'number' && Number.isFinite(step) && step >= 0)) {
    throw new InputError('step', step, 'must be a finite number >= 0');
  }
}

/**
 * The same learning rate at every step.
 * @param lr - the rate; finite, >= 0.
 * @throws {@link ConfigError} if `lr` is invalid.
 */
export function constantSchedule(lr: number): LRSchedule {
  const rate = finiteAtLeast('lr', lr, 0, false);
  return (step) => {
    checkStep(step);
    return rate;
  };
}

/**
 * Linear warmup, then cosine decay, then constant. With `W = warmupSteps`, `T = totalSteps`:
 *
 * - warmup, `step < W`: `lr = peak * (step + 1) / W`, so step 0 gets `peak / W` and step `W - 1`
 *   gets `peak`;
 * - cosine, `a <= step <= T` with `a = max(W - 1, 0)` (the step that gets `peak`):
 *   `lr = minLr + (peak - minLr) * (1 + cos(pi * (step - a) / (T - a))) / 2`, which falls strictly
 *   from `peak` at step `a` to `minLr` at step `T`;
 * - after, `step > T`: `lr = minLr`.
 *
 * So over a run of `T` updates (steps `0 .. T-1`) every update gets a positive rate when `peak > 0`,
 * the rate rises strictly during warmup and never rises afterwards.
 *
 * @throws {@link ConfigError} naming the option if any is invalid.
 */
export function warmupCosineSchedule(options: WarmupCosineOptions): LRSchedule {
  const peak = finiteAtLeast('WarmupCosineOptions.peak', options.peak, 0, true);
  const warmup = integerAtLeast('WarmupCosineOptions.warmupSteps', options.warmupSteps, 0);
  const total = integerAtLeast('WarmupCosineOptions.totalSteps', options.totalSteps, 1);
  if (total < warmup) {
    throw new ConfigError('WarmupCosineOptions.totalSteps', total, `must be >= warmupSteps (${warmup})`);
  }
  const minLr = finiteAtLeast('WarmupCosineOptions.minLr', options.minLr ?? 0, 0, false);
  if (minLr > peak) {
    throw new ConfigError('WarmupCosineOptions.minLr', minLr, `must be <= peak (${peak})`);
  }
  const anchor = Math.max(warmup - 1, 0);
  return (step) => {
    checkStep(step);
    if (step < warmup) return (peak * (step + 1)) / warmup;
    if (step >= total) return minLr;
    const progress = (step - anchor) / (total - anchor);
    return minLr + ((peak - minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
  };
}

/**
 * Linear interpolation from `start` at step 0 to `end` at `totalSteps`, constant `end` afterwards:
 * `lr = start + (end - start) * min(step, totalSteps) / totalSteps`.
 * @throws {@link ConfigError} naming the option if any is invalid.
 */
export function linearSchedule(options: LinearScheduleOptions): LRSchedule {
  const start = finiteAtLeast('LinearScheduleOptions.start', options.start, 0, false);
  const end = finiteAtLeast('LinearScheduleOptions.end', options.end, 0, false);
  const total = integerAtLeast('LinearScheduleOptions.totalSteps', options.totalSteps, 1);
  return (step) => {
    checkStep(step);
    if (step >= total) return end;
    return start + ((end - start) * step) / total;
  };
}
