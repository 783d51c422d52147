/**
 * `TamerFeedback`: live scalar feedback from a person (e.g. +1 / -1 clicks while samples stream on
 * screen) turned into PPO rewards, with TAMER's credit assignment (see {@link creditWeight}).
 * The core is pure and driven by an injectable clock, so it can be tested without waiting.
 * @module
 */
import { ConfigError, InputError } from '../../errors';
import { silentLogger, type Logger } from '../../logging/logger';
import type { RewardFunction, RewardSample } from '../../ppo/options';
import { creditedFeedback, type CreditWindow, type FeedbackEvent, type SampleFeedback, type ShownInterval, type TamerAggregate } from './tamer-credit';

/** Time source of {@link TamerFeedback}; all times are in its milliseconds. */
export interface TamerClock {
  /** The current time in ms. */
  now(): number;
  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock: `Date.now()` and `setTimeout`. */
export const systemClock: TamerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Options of {@link TamerFeedback}. */
export interface TamerFeedbackOptions {
  /** Shortest reaction delay credited, ms. Default `200`. */
  minDelayMs?: number;
  /** Longest reaction delay credited, ms. Default `2000`. */
  maxDelayMs?: number;
  /** `'sum'` of credited feedback (more clicks, larger reward) or credit-weighted `'mean'`. Default `'sum'`. */
  aggregate?: TamerAggregate;
  /** Time source. Default {@link systemClock}. */
  clock?: TamerClock;
  /** Receives one record per reward batch and warnings for samples never shown. Default: silent. */
  logger?: Logger;
}

/** Options of {@link TamerFeedback.rewardFunction}. */
export interface TamerRewardOptions {
  /**
   * Shows a batch of samples to the person (e.g. streams them into a page) and registers each one with
   * {@link TamerFeedback.shown} under the id given. It may return before the samples are shown. Required.
   */
  present: (samples: RewardSample[], ids: string[]) => void | Promise<void>;
  /** Longest wait, after `present`, for every sample to be shown and its credit window to close. Default `60000`. */
  timeoutMs?: number;
  /** Reward of a sample that received no credited feedback (or was never shown). Default `0`. */
  noFeedbackReward?: number;
  /** How often to check, ms. Default `50`. */
  pollMs?: number;
}

function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(name, v, 'must be a finite number');
  return v;
}

/**
 * Collects timed scalar feedback and credits it to the samples that were on screen just before,
 * as TAMER does: a click at time `t` is about what was seen between `t - maxDelayMs` and
 * `t - minDelayMs`, each moment equally likely, so a sample shown during part of that window gets
 * that fraction of the click ({@link creditWeight}). A sample's reward is the credit-weighted sum
 * (or mean) of the clicks it received. Events and intervals may be registered in any order.
 * @example
 * ```ts
 * const tamer = new TamerFeedback();
 * const trainer = new PPOTrainer({ policy, tokenizer, reward: tamer.rewardFunction({
 *   present: (samples, ids) => page.stream(samples, (i, start, end) => tamer.shown(ids[i], start, end)),
 * }) });
 * page.onClick((value) => tamer.give(value)); // +1 / -1
 * ```
 */
export class TamerFeedback {
  /** The delay model. */
  readonly window: CreditWindow;
  private readonly aggregate: TamerAggregate;
  private readonly clock: TamerClock;
  private readonly logger: Logger;
  private events: FeedbackEvent[] = [];
  private readonly intervals = new Map<string, ShownInterval[]>();
  private round = 0;

  /** @param options - See {@link TamerFeedbackOptions}; validated here ({@link ConfigError}). */
  constructor(options: TamerFeedbackOptions = {}) {
    const minDelayMs = options.minDelayMs ?? 200;
    const maxDelayMs = options.maxDelayMs ?? 2000;
    if (!Number.isFinite(minDelayMs) || minDelayMs < 0) throw new ConfigError('minDelayMs', minDelayMs, 'must be a finite number >= 0');
    if (!Number.isFinite(maxDelayMs) || maxDelayMs <= minDelayMs) throw new ConfigError('maxDelayMs', maxDelayMs, `must be a finite number > minDelayMs (${minDelayMs})`);
    const aggregate = options.aggregate ?? 'sum';
    if (aggregate !== 'sum' && aggregate !== 'mean') throw new ConfigError('aggregate', aggregate, 'must be "sum" or "mean"');
    this.window = { minDelayMs, maxDelayMs };
    this.aggregate = aggregate;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Registers that sample `sampleId` was on screen from `startMs` to `endMs`. Without `endMs` it is still
   * on screen (credited up to any time) until {@link TamerFeedback.hidden}. Call again for each further interval.
   */
  shown(sampleId: string, startMs: number, endMs: number = Number.POSITIVE_INFINITY): void {
    if (typeof sampleId !== 'string' || sampleId === '') throw new InputError('sampleId', sampleId, 'must be a non-empty string');
    finite('startMs', startMs);
    if (Number.isNaN(endMs) || endMs === Number.NEGATIVE_INFINITY || endMs < startMs) throw new InputError('endMs', endMs, `must be >= startMs (${startMs})`);
    const list = this.intervals.get(sampleId) ?? [];
    list.push({ startMs, endMs });
    this.intervals.set(sampleId, list);
  }

  /** Ends the open interval of a sample registered by `shown(id, start)` without an end (default: now). */
  hidden(sampleId: string, endMs: number = this.clock.now()): void {
    const open = (this.intervals.get(sampleId) ?? []).find((iv) => iv.endMs === Number.POSITIVE_INFINITY);
    if (open === undefined) throw new InputError('sampleId', sampleId, 'has no open interval (shown without an end)');
    if (finite('endMs', endMs) < open.startMs) throw new InputError('endMs', endMs, `must be >= startMs (${open.startMs})`);
    open.endMs = endMs;
  }

  /** Records feedback `value` (e.g. +1 or -1) given at `atMs` (default: now). */
  give(value: number, atMs: number = this.clock.now()): void {
    this.events.push({ value: finite('value', value), atMs: finite('atMs', atMs) });
  }

  /** The credited feedback of one sample so far (zero credit when it was never shown). */
  feedback(sampleId: string): SampleFeedback {
    return creditedFeedback(this.events, this.intervals.get(sampleId) ?? [], this.window, this.aggregate);
  }

  /** Each sample's reward: its credited feedback, or `noFeedbackReward` when none was credited. */
  rewards(sampleIds: readonly string[], noFeedbackReward = 0): number[] {
    return sampleIds.map((id) => this.feedback(id).reward ?? noFeedbackReward);
  }

  /** Whether no further feedback can be credited to the sample (shown and hidden, and its last end + maxDelay has passed). */
  settled(sampleId: string, nowMs: number = this.clock.now()): boolean {
    const list = this.intervals.get(sampleId);
    if (list === undefined || list.length === 0) return false;
    return nowMs >= Math.max(...list.map((iv) => iv.endMs)) + this.window.maxDelayMs;
  }

  /** Drops the samples, and the events that can no longer be credited to any sample still registered or shown after now. */
  forget(sampleIds: readonly string[]): void {
    for (const id of sampleIds) this.intervals.delete(id);
    const now = this.clock.now();
    const starts = [...this.intervals.values()].flat().map((iv) => iv.startMs);
    const earliest = Math.min(now, ...starts);
    this.events = this.events.filter((e) => e.atMs - this.window.minDelayMs > earliest);
  }

  /**
   * A PPO {@link RewardFunction}: for each batch it calls `present(samples, ids)`, waits until every
   * sample has been shown and hidden and its credit window has closed (`end + maxDelayMs`), at most
   * `timeoutMs`, then returns each sample's reward and forgets it. To wait for the person's verdict on
   * a sample, keep it on screen (`shown(id, start)`) until they click, then call `hidden(id)`.
   * A sample that got no credited feedback, or was never shown, scores `noFeedbackReward` (default 0;
   * never-shown samples are also logged as a warning).
   */
  rewardFunction(options: TamerRewardOptions): RewardFunction {
    if (typeof options?.present !== 'function') throw new ConfigError('present', options?.present, 'must be a function that shows the samples');
    const timeoutMs = options.timeoutMs ?? 60_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new ConfigError('timeoutMs', timeoutMs, 'must be a finite number >= 0');
    const pollMs = options.pollMs ?? 50;
    if (!Number.isFinite(pollMs) || pollMs <= 0) throw new ConfigError('pollMs', pollMs, 'must be a number > 0');
    const noFeedbackReward = options.noFeedbackReward ?? 0;
    if (!Number.isFinite(noFeedbackReward)) throw new ConfigError('noFeedbackReward', noFeedbackReward, 'must be a finite number');
    return async (samples) => {
      const ids = samples.map((_, i) => `tamer-${this.round}-${i}`);
      this.round++;
      await options.present(samples, ids);
      const deadline = this.clock.now() + timeoutMs;
      while (!ids.every((id) => this.settled(id)) && this.clock.now() < deadline) await this.clock.sleep(pollMs);
      const unshown = ids.filter((id) => !this.intervals.has(id));
      if (unshown.length > 0) this.logger.log('warn', 'TAMER samples never shown; they score noFeedbackReward', { ids: unshown, noFeedbackReward });
      const rewards = this.rewards(ids, noFeedbackReward);
      this.logger.log('info', 'TAMER rewards', { round: this.round - 1, rewards, withFeedback: ids.filter((id) => this.feedback(id).events > 0).length });
      this.forget(ids);
      return rewards;
    };
  }
}
