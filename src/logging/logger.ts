/**
 * The pluggable logger. The library never writes to the console by itself: long work reports through
 * a {@link Logger} given in options. {@link silentLogger} is the default.
 * @module
 */

/** Severity of a log record. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Progress of a long task (training steps, generated tokens). */
export interface ProgressEvent {
  /** What is running, e.g. `"ppo"`, `"sft"`. */
  task: string;
  /** Units done so far (1-based after the first unit). */
  done: number;
  /** Units in total. */
  total: number;
  /** Unit name, e.g. `"step"`. Default `"it"`. */
  unit?: string;
  /** A few headline numbers to show next to the bar (loss, reward, KL). */
  info?: Record<string, number | string>;
}

/** Receives the library's messages. Implement it to route them anywhere. */
export interface Logger {
  /** Called for each message; `data` carries structured fields (step, loss, ...). */
  log(level: LogLevel, message: string, data?: Record<string, unknown>): void;
  /** Called as long work advances; optional (see {@link progressLogger}). */
  progress?(event: ProgressEvent): void;
}

/** A logger that drops everything (the default). */
export const silentLogger: Logger = { log: () => undefined };

/** A logger that writes `[level] message {data}` lines to a sink (default: `console.error`). */
export function consoleLogger(
  minLevel: LogLevel = 'info',
  sink: (line: string) => void = (line) => console.error(line),
): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, message, data) {
      if (order[level] < order[minLevel]) return;
      const extra = data === undefined ? '' : ` ${JSON.stringify(data)}`;
      sink(`[${level}] ${message}${extra}`);
    },
  };
}
