/**
 * The `workers` option shared by the trainers: how many replicas a data-parallel step uses (the main
 * thread counts as one), and how `'auto'` and the `TFJS_RLHF_WORKERS` environment variable resolve.
 * @module
 */
import { ConfigError } from '../errors';
import { isNode } from '../backends/use-backend';
import { tf } from '../tf';

/**
 * How many replicas train in parallel: a count (the main thread is one of them, so `1` is the plain
 * in-process path and `2` adds one worker thread), or `'auto'` = the cores available
 * (`os.availableParallelism()`), capped by the batch.
 */
export type WorkersOption = number | 'auto';

/**
 * Environment variable read when a trainer's `workers` option is left out: a count or `auto`
 * (e.g. `TFJS_RLHF_WORKERS=1` keeps every trainer in-process, as the test suite does).
 */
export const WORKERS_ENV = 'TFJS_RLHF_WORKERS';

/** Upper bound on an explicit worker count. */
export const MAX_WORKERS = 256;

/** Backends a worker replica can run on (each worker starts its own single-threaded instance). */
const WORKER_BACKENDS = new Set(['wasm', 'cpu']);

function envValue(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.[WORKERS_ENV]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Validates a `workers` option (throws {@link ConfigError} naming `param`); `undefined` becomes the
 * `TFJS_RLHF_WORKERS` environment variable if set, else `'auto'`.
 */
export function checkWorkersOption(param: string, v: unknown): WorkersOption {
  if (v === undefined) {
    const env = envValue();
    if (env === undefined) return 'auto';
    return checkWorkersOption(WORKERS_ENV, env === 'auto' ? 'auto' : Number(env));
  }
  if (v === 'auto') return 'auto';
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > MAX_WORKERS) {
    throw new ConfigError(param, v, `must be 'auto' or an integer in [1, ${MAX_WORKERS}]`);
  }
  return v;
}

/** Cores available to this process (Node), or 1 where that cannot be known. */
export async function availableCores(): Promise<number> {
  if (!isNode()) return 1;
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * The replica count of a step over `rows` batch rows: `'auto'` is `min(cores, rows)`; a count is
 * capped by `rows` (a replica without rows would only add work). Outside Node, or on a backend other
 * than wasm and cpu (tfjs-node and the GPU backends already use the whole machine), `'auto'` is 1 and
 * a count above 1 throws {@link ConfigError}.
 */
export async function resolveWorkerCount(param: string, option: WorkersOption, rows: number): Promise<number> {
  const backend = tf.getBackend();
  const supported = isNode() && WORKER_BACKENDS.has(backend);
  if (option === 'auto') return supported ? Math.max(1, Math.min(await availableCores(), rows)) : 1;
  if (option > 1 && !supported) {
    const where = isNode() ? `the current backend is "${backend}"` : 'this is not Node';
    throw new ConfigError(param, option, `worker threads need Node and the wasm or cpu backend; ${where} (use 1 or 'auto')`);
  }
  return Math.max(1, Math.min(option, rows));
}

/** Splits `rows` into `n` contiguous shards whose sizes differ by at most one: `[start, end)` each. */
export function shardRanges(rows: number, n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([Math.floor((i * rows) / n), Math.floor(((i + 1) * rows) / n)]);
  return out;
}
