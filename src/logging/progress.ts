/**
 * Progress reporting for long work: a bar with rate and ETA when the stream is a terminal, plain
 * lines otherwise. Trainers report through {@link Logger.progress}; pass `progressLogger()` as their
 * `logger` to see it (the default logger is silent).
 * @module
 */
import type { Logger, LogLevel, ProgressEvent } from './logger';

/** Where progress is written: a Node stream (`process.stderr`) or anything with `write`. */
export interface ProgressStream {
  /** Writes a chunk of text. */
  write(chunk: string): unknown;
  /** Whether the stream is a terminal (bars are drawn in place only then). */
  isTTY?: boolean;
  /** Terminal width in columns. */
  columns?: number;
}

/** Options of {@link progressLogger}. */
export interface ProgressLoggerOptions {
  /** Output stream. Default: `process.stderr` in Node, otherwise messages are dropped. */
  stream?: ProgressStream;
  /** Draw an in-place bar (`true`) or print plain lines (`false`). Default: `stream.isTTY`. */
  bar?: boolean;
  /** Messages below this level are not printed. Default `'warn'` (step stats go to the bar). */
  minLevel?: LogLevel;
  /** Plain-line mode prints every this many events, plus the last. Default `10`. */
  every?: number;
  /** Clock in milliseconds (for tests). Default `Date.now`. */
  now?: () => number;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** `1:05` style duration. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function formatInfo(info: ProgressEvent['info']): string {
  if (info === undefined) return '';
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v * 100) / 100) : v.toPrecision(4)) : v}`)
    .join(' ');
}

/** One line of progress text, e.g. `ppo [######----] 6/10 0.8 step/s ETA 0:05 kl=0.12`. */
export function formatProgress(e: ProgressEvent, rate: number, barWidth: number): string {
  const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 0;
  const eta = rate > 0 ? (e.total - e.done) / rate : NaN;
  const unit = e.unit ?? 'it';
  const bar = barWidth > 0 ? ` [${'#'.repeat(Math.round(frac * barWidth)).padEnd(barWidth, '-')}]` : '';
  const info = formatInfo(e.info);
  return `${e.task}${bar} ${e.done}/${e.total} ${rate.toFixed(2)} ${unit}/s ETA ${formatDuration(eta)}${info ? ` ${info}` : ''}`;
}

function defaultStream(): ProgressStream | undefined {
  const p = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  return p?.stderr;
}

/** A {@link Logger} that draws progress bars (terminal) or prints progress lines (pipes, CI logs). */
export function progressLogger(options: ProgressLoggerOptions = {}): Logger {
  const stream = options.stream ?? defaultStream();
  const bar = options.bar ?? stream?.isTTY === true;
  const minLevel = options.minLevel ?? 'warn';
  const every = Math.max(1, options.every ?? 10);
  const now = options.now ?? Date.now;
  const starts = new Map<string, { t: number; done: number }>();
  let drawn = false;
  const clear = () => {
    if (drawn && stream) stream.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    log(level, message, data) {
      if (!stream || ORDER[level] < ORDER[minLevel]) return;
      clear();
      stream.write(`[${level}] ${message}${data === undefined ? '' : ` ${JSON.stringify(data)}`}\n`);
    },
    progress(e) {
      if (!stream) return;
      // The rate is measured from the first event seen, over the units done since then.
      if (!starts.has(e.task)) starts.set(e.task, { t: now(), done: e.done });
      const s0 = starts.get(e.task) as { t: number; done: number };
      const elapsed = (now() - s0.t) / 1000;
      const rate = elapsed > 0 ? (e.done - s0.done) / elapsed : 0;
      const finished = e.done >= e.total;
      if (bar) {
        const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
        stream.write(`\r\x1b[2K${formatProgress(e, rate, width)}${finished ? '\n' : ''}`);
        drawn = !finished;
      } else if (finished || e.done % every === 0) {
        stream.write(`${formatProgress(e, rate, 0)}\n`);
      }
      if (finished) starts.delete(e.task);
    },
  };
}
