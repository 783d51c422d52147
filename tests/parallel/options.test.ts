import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as os from 'node:os';
import fc from 'fast-check';
import { ConfigError } from '../../src/errors';
import { checkWorkersOption, resolveWorkerCount, shardRanges, WORKERS_ENV } from '../../src/parallel/options';
import { setupBackend } from '../helpers/backend';

beforeAll(setupBackend);

const saved = process.env[WORKERS_ENV];
afterEach(() => {
  if (saved === undefined) delete process.env[WORKERS_ENV];
  else process.env[WORKERS_ENV] = saved;
});

describe('workers option', () => {
  it('accepts auto and counts, rejects anything else naming the option', () => {
    expect(checkWorkersOption('X.workers', 'auto')).toBe('auto');
    expect(checkWorkersOption('X.workers', 3)).toBe(3);
    for (const bad of [0, -1, 1.5, NaN, '2', 'all', 1000, null]) {
      expect(() => checkWorkersOption('X.workers', bad)).toThrow(ConfigError);
      expect(() => checkWorkersOption('X.workers', bad)).toThrow(/X\.workers/);
    }
  });

  it('defaults to auto, or to the TFJS_RLHF_WORKERS environment variable', () => {
    delete process.env[WORKERS_ENV];
    expect(checkWorkersOption('X.workers', undefined)).toBe('auto');
    process.env[WORKERS_ENV] = '1';
    expect(checkWorkersOption('X.workers', undefined)).toBe(1);
    process.env[WORKERS_ENV] = 'auto';
    expect(checkWorkersOption('X.workers', undefined)).toBe('auto');
    process.env[WORKERS_ENV] = 'many';
    expect(() => checkWorkersOption('X.workers', undefined)).toThrow(/TFJS_RLHF_WORKERS/);
    expect(checkWorkersOption('X.workers', 2)).toBe(2); // an explicit option wins over the variable
  });

  it("resolves 'auto' to the cores available, capped by the batch rows", async () => {
    const cores = os.availableParallelism();
    expect(await resolveWorkerCount('w', 'auto', 64)).toBe(Math.min(cores, 64));
    expect(await resolveWorkerCount('w', 'auto', 1)).toBe(1);
    expect(await resolveWorkerCount('w', 5, 3)).toBe(3);
    expect(await resolveWorkerCount('w', 1, 8)).toBe(1);
  });

  it('splits rows into contiguous shards differing by at most one row (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 32 }), (rows, n) => {
      const r = shardRanges(rows, n);
      expect(r).toHaveLength(n);
      expect(r[0]![0]).toBe(0);
      expect(r[n - 1]![1]).toBe(rows);
      const sizes = r.map(([a, b]) => b - a);
      r.slice(1).forEach(([a], i) => expect(a).toBe(r[i]![1]));
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }));
  });
});
