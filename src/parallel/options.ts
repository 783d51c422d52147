/**
 * The `workers` option shared by the trainers: how many replicas a data-parallel step uses (the main
 * thread counts as one), and how `'auto'` and the `TFJS_RLHF_WORKERS` environment variable resolve.
 * @module
 */
import { ConfigError } from '../errors';
import { isNode } from '../backends/use-backend';
import { tf } from '../tf';
import { browserWorkersMissing } from './channel';

/**
 * How many replicas train in parallel: a count (the main thread is one of them, so `1` is the plain
 * in-process path and `2` adds one worker), or `'auto'` = the cores available
 * (`os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in a browser), capped by the
 * batch. Browsers run workers only on a cross-origin isolated page with a worker factory set
 * (`setWorkerFactory`); elsewhere `'auto'` is 1.
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

/** Cores available to this process (Node) or page (`navigator.hardwareConcurrency`), or 1 where unknown. */
export async function availableCores(): Promise<number> {
  if (!isNode()) {
    const n = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1 ? n : 1;
  }
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/**
 * The replica count of a step over `rows` batch rows: `'auto'` is `min(cores, rows)`; a count is
 * capped by `rows` (a replica without rows would only add work). On a backend other than wasm and cpu
 * (tfjs-node and the GPU backends already use the whole machine), or in a browser page that cannot
 * start workers (not cross-origin isolated, or no worker factory), `'auto'` is 1 and a count above 1
 * throws {@link ConfigError} saying which.
 */
export async function resolveWorkerCount(param: string, option: WorkersOption, rows: number): Promise<number> {
  const backend = tf.getBackend();
  const missing = WORKER_BACKENDS.has(backend) ? browserWorkersMissing() : `the current backend is "${backend}"`;
  if (option === 'auto') return missing === undefined ? Math.max(1, Math.min(await availableCores(), rows)) : 1;
  if (option > 1 && missing !== undefined) {
    throw new ConfigError(param, option, `workers need the wasm or cpu backend, and in a browser a cross-origin isolated page with a worker factory; ${missing} (use 1 or 'auto')`);
  }
  return Math.max(1, Math.min(option, rows));
}

/** Splits `rows` into `n` contiguous shards whose sizes differ by at most one: `[start, end)` each. */
export function shardRanges(rows: number, n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) out.push([Math.floor((i * rows) / n), Math.floor(((i + 1) * rows) / n)]);
  return out;
}
