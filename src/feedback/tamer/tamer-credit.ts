/**
 * TAMER credit assignment (Knox & Stone, "Interactive shaping of agent behavior", K-CAP 2009), the
 * pure part: a person's feedback at time `t` is about what they saw a moment earlier. The delay
 * between seeing and clicking is modelled as uniform on `[minDelayMs, maxDelayMs]`, so the event is
 * about the moment `t - delay`, and a sample on screen during `[start, end]` receives the probability
 * that this moment fell inside its interval:
 *
 * `credit = |[t - maxDelay, t - minDelay] ∩ [start, end]| / (maxDelay - minDelay)`.
 *
 * Credits of one event over samples shown one after another sum to at most 1 (exactly 1 when samples
 * cover the whole window; less when the screen showed nothing for part of it).
 * @module
 */

/** The uniform delay model of how long after seeing something a person reacts to it. */
export interface CreditWindow {
  /** Shortest reaction delay in ms. Default `200`. */
  minDelayMs: number;
  /** Longest reaction delay in ms (> minDelayMs). Default `2000`. */
  maxDelayMs: number;
}

/** One interval during which a sample was on screen, in the clock's milliseconds. */
export interface ShownInterval {
  /** When it appeared. */
  startMs: number;
  /** When it was replaced or hidden (>= startMs). */
  endMs: number;
}

/** A feedback event: a scalar (e.g. +1 / -1) at a time. */
export interface FeedbackEvent {
  /** The value the person gave. */
  value: number;
  /** When, in the clock's milliseconds. */
  atMs: number;
}

/**
 * The probability that an event at `atMs` is about a sample shown during `interval` (see the module
 * notes); in [0, 1].
 */
export function creditWeight(atMs: number, interval: ShownInterval, window: CreditWindow): number {
  const lo = Math.max(atMs - window.maxDelayMs, interval.startMs);
  const hi = Math.min(atMs - window.minDelayMs, interval.endMs);
  return hi > lo ? (hi - lo) / (window.maxDelayMs - window.minDelayMs) : 0;
}

/** Credit of one event to a sample shown during several intervals (their credits add up). */
export function sampleCredit(atMs: number, intervals: readonly ShownInterval[], window: CreditWindow): number {
  return intervals.reduce((sum, iv) => sum + creditWeight(atMs, iv, window), 0);
}

/** How a sample's credited feedback becomes its reward. */
export type TamerAggregate = 'sum' | 'mean';

/** The credited feedback of one sample. */
export interface SampleFeedback {
  /** `sum`: Σ credit·value; `mean`: Σ credit·value / Σ credit. `undefined` when no event is credited. */
  reward: number | undefined;
  /** Σ credit over all events (the expected number of events about this sample). */
  credit: number;
  /** Events with non-zero credit. */
  events: number;
}

/** Sums the credited feedback of one sample over `events`. */
export function creditedFeedback(
  events: readonly FeedbackEvent[],
  intervals: readonly ShownInterval[],
  window: CreditWindow,
  aggregate: TamerAggregate,
): SampleFeedback {
  let weighted = 0;
  let credit = 0;
  let count = 0;
  for (const e of events) {
    const w = sampleCredit(e.atMs, intervals, window);
    if (w <= 0) continue;
    weighted += w * e.value;
    credit += w;
    count++;
  }
  if (count === 0) return { reward: undefined, credit: 0, events: 0 };
  return { reward: aggregate === 'sum' ? weighted : weighted / credit, credit, events: count };
}
