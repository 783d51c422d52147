/**
 * Metrics logging: a {@link Logger} that records every trainer step (and sample batch) as one JSON
 * line, for `readMetrics`, `renderReport` and the `tfjs-rlhf-report` command.
 * @module
 */
import { ConfigError, InputError } from '../errors';
import type { Logger } from '../logging/logger';
import { toJsonSafe } from './json-safe';
import { setOwn } from '../io/objects';
import type { SampleRow } from './types';

/** The message trainers log sample batches under (see {@link logSamples}). */
export const SAMPLES_MESSAGE = 'samples';

const STEP_SUFFIX = ' step';

/** Options of {@link metricsLogger}. */
export interface MetricsLoggerOptions {
  /**
   * Record only these kinds (e.g. `["ppo"]`); include `"samples"` to keep sample batches.
   * Default: every kind.
   */
  kinds?: string[];
  /** Append to the file once this many lines are waiting. Default `1` (every record at once). */
  flushEvery?: number;
}

/** A {@link Logger} writing a metrics file; returned by {@link metricsLogger}. */
export interface MetricsLogger extends Logger {
  /** Appends every waiting line; resolves once they are written, rejects with the first write error. */
  flush(): Promise<void>;
  /**
   * Flushes, then fsyncs the file so its contents survive a system crash. Rejects with the first
   * write error, if any. The logger stays usable: records logged afterwards are appended as before.
   */
  close(): Promise<void>;
}

/**
 * The kind of a log message that is a metrics record: `"ppo"` for `"ppo step"`, `"samples"` for
 * `"samples"`, `undefined` for any other message.
 */
function kindOf(message: string): string | undefined {
  if (message === SAMPLES_MESSAGE) return SAMPLES_MESSAGE;
  if (message.endsWith(STEP_SUFFIX) && message.length > STEP_SUFFIX.length) return message.slice(0, -STEP_SUFFIX.length);
  return undefined;
}

/** One JSON line `{ kind, time, ...data }` (data fields named `kind` or `time` are ignored). */
function recordLine(kind: string, data: Record<string, unknown>): string {
  const record: Record<string, unknown> = { kind, time: new Date().toISOString() };
  const safe = toJsonSafe(data);
  for (const [key, value] of Object.entries(safe)) if (key !== 'kind' && key !== 'time') setOwn(record, key, value);
  return `${JSON.stringify(record)}\n`;
}

function checkOptions(path: unknown, options: MetricsLoggerOptions): { kinds: Set<string> | undefined; flushEvery: number } {
  if (typeof path !== 'string' || path === '') throw new InputError('path', path, 'must be a non-empty file path');
  const { kinds, flushEvery = 1 } = options;
  if (kinds !== undefined && (!Array.isArray(kinds) || !kinds.every((k) => typeof k === 'string'))) {
    throw new ConfigError('kinds', kinds, 'must be an array of strings');
  }
  if (!Number.isInteger(flushEvery) || flushEvery < 1) throw new ConfigError('flushEvery', flushEvery, 'must be a positive integer');
  return { kinds: kinds === undefined ? undefined : new Set(kinds), flushEvery };
}

/**
 * A {@link Logger} that appends each metrics record to a JSON Lines file. Node.js only (`node:fs`
 * is imported lazily, so importing this in a browser bundle is harmless).
 *
 * Recorded messages: `"<kind> step"` with data (what `LMTrainer`, `SFTTrainer`, `RewardTrainer` and
 * `PPOTrainer` log after every step) becomes `{ "kind": "<kind>", "time": "<ISO-8601>", ...data }`;
 * `"samples"` with data (see {@link logSamples}) becomes `{ "kind": "samples", "time", ...data }`.
 * Every other message (warnings, progress) is ignored; combine with another logger through
 * {@link combineLoggers} to see those.
 *
 * Non-finite numbers: JSON has no `NaN` or `Infinity`, so such a value is written as `null` and its
 * key is listed in the object's `"nonFinite"` array, e.g. `{"loss":null,"nonFinite":["loss"]}`
 * (objects nested in the data, such as sample rows, get their own list). `readMetrics` reads these
 * keys back as `NaN`, so `Infinity` and `NaN` are not told apart there. A `"nonFinite"` field in the
 * data itself is replaced, and data fields named `kind` or `time` are ignored.
 *
 * Durability: `log` never blocks or throws for a write; lines are appended in order in the
 * background (`appendFile`, creating the file and its directory if needed), which survives a crash
 * of the process. `close()` waits for them and fsyncs the file, which also survives a crash of the
 * system. A failed write is reported by the next `flush()` or `close()`; records logged after a
 * failure are dropped.
 * @param path - The JSONL file; appended to if it exists.
 * @param options - See {@link MetricsLoggerOptions}.
 * @returns The logger, with `flush()` and `close()`.
 * @throws A {@link ConfigError} for invalid options; an {@link InputError} for an empty path.
 */
export function metricsLogger(path: string, options: MetricsLoggerOptions = {}): MetricsLogger {
  const { kinds, flushEvery } = checkOptions(path, options);
  let pending: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  let dirReady = false;
  const openFs = async (): Promise<typeof import('node:fs/promises')> => {
    const fs = await import('node:fs/promises');
    if (!dirReady) {
      const { dirname } = await import('node:path');
      await fs.mkdir(dirname(path), { recursive: true });
      dirReady = true;
    }
    return fs;
  };
  const append = async (text: string): Promise<void> => {
    if (failure !== undefined) return;
    try {
      const fs = await openFs();
      await fs.appendFile(path, text, 'utf8');
    } catch (e) {
      failure = e;
    }
  };
  const flush = (): Promise<void> => {
    if (pending.length > 0) {
      const text = pending.join('');
      pending = [];
      chain = chain.then(() => append(text));
    }
    return chain.then(() => {
      if (failure !== undefined) throw failure;
    });
  };
  return {
    log(_level, message, data) {
      const kind = kindOf(message);
      if (kind === undefined || data === undefined || (kinds !== undefined && !kinds.has(kind)) || failure !== undefined) return;
      pending.push(recordLine(kind, data));
      if (pending.length >= flushEvery) void flush().catch(() => undefined);
    },
    flush,
    async close() {
      await flush();
      const fs = await openFs();
      const handle = await fs.open(path, 'a');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

/**
 * A {@link Logger} that passes every message to each of `loggers`, in order. A logger that throws
 * does not stop the others; the first error is rethrown once all have been called.
 * @param loggers - The loggers, e.g. `consoleLogger()` and a {@link metricsLogger}.
 * @returns The fan-out logger.
 * @throws An {@link InputError} when an argument has no `log` method.
 */
export function combineLoggers(...loggers: Logger[]): Logger {
  loggers.forEach((l, i) => {
    if (typeof (l as Partial<Logger> | null)?.log !== 'function') throw new InputError(`loggers[${i}]`, l, 'must be a Logger (an object with a log method)');
  });
  const all = [...loggers];
  return {
    log(level, message, data) {
      let first: { error: unknown } | undefined;
      for (const l of all) {
        try {
          l.log(level, message, data);
        } catch (e) {
          first ??= { error: e };
        }
      }
      if (first !== undefined) throw first.error;
    },
  };
}

/**
 * Logs a batch of sampled completions as a `"samples"` record, which {@link metricsLogger} writes
 * and reports show as a table.
 * @param logger - Where to log.
 * @param step - The training step the samples were taken at.
 * @param rows - The samples: prompt, response and, where known, score and KL.
 */
export function logSamples(logger: Logger, step: number, rows: readonly SampleRow[]): void {
  logger.log('info', SAMPLES_MESSAGE, { step, rows: rows.map((r) => ({ ...r })) });
}
