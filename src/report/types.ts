/**
 * Record types of a metrics log: the JSON Lines file written by {@link metricsLogger} and read by
 * {@link readMetrics}.
 * @module
 */

/**
 * One per-step stats record, e.g. a `PPOStats` or an `LMStepStats`, tagged with the trainer kind.
 * Numeric fields that were `NaN` or `±Infinity` when logged read back as `NaN` (see
 * {@link metricsLogger} for the file format).
 */
export interface MetricRecord {
  /** Trainer kind: the log message without its `" step"` suffix, e.g. `"ppo"`, `"lm"`, `"sft"`, `"reward"`. */
  kind: string;
  /** ISO-8601 time the record was logged, when the file has it. */
  time?: string;
  /** 1-based step, when the trainer reports one. */
  step?: number;
  /** The trainer's stats, under their own names (`"objective/kl"`, `"loss"`, `"lr"`, ...). */
  [field: string]: unknown;
}

/** One sampled completion shown in a report's samples table. */
export interface SampleRow {
  /** The prompt text. */
  prompt: string;
  /** The generated response text. */
  response: string;
  /** Reward-model score of the response (`NaN` or absent when unknown). */
  score?: number;
  /** Summed KL of the response to the reference policy, in nats (`NaN` or absent when unknown). */
  kl?: number;
}

/**
 * A batch of sampled completions, logged as `logger.log('info', 'samples', { step, rows })`
 * (see {@link logSamples}).
 */
export interface SamplesRecord {
  /** Always `"samples"`. */
  kind: 'samples';
  /** ISO-8601 time the record was logged, when the file has it. */
  time?: string;
  /** Training step the samples were taken at, when given. */
  step?: number;
  /** The samples. */
  rows: SampleRow[];
  /** Any other fields logged with the samples. */
  [field: string]: unknown;
}

/** A whole metrics log, grouped for reporting. */
export interface MetricsHistory {
  /** Per-step records by trainer kind, each in file order. */
  series: Record<string, MetricRecord[]>;
  /** Sample batches in file order. */
  samples: SamplesRecord[];
}
