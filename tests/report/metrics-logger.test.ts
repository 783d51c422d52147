import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../src/errors';
import type { Logger, LogLevel } from '../../src/logging/logger';
import { combineLoggers, logSamples, metricsLogger } from '../../src/report/metrics-logger';
import { logPipeline } from './fixtures';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-metrics-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function lines(file: string): Promise<Record<string, unknown>[]> {
  const text = await fs.readFile(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('metricsLogger', () => {
  it('writes one JSON line per step record and per samples record, ignoring other messages', async () => {
    const file = path.join(dir, 'sub', 'metrics.jsonl');
    const logger = metricsLogger(file);
    logPipeline(logger, 3);
    logger.log('info', 'starting', { foo: 1 });
    logger.log('info', 'ppo step'); // no data: not a record
    await logger.close();
    const records = await lines(file);
    expect(records.map((r) => r.kind)).toEqual(['lm', 'lm', 'lm', 'reward', 'reward', 'reward', 'ppo', 'ppo', 'ppo', 'samples']);
    for (const r of records) expect(new Date(r.time as string).toISOString()).toBe(r.time);
    expect(Object.keys(records[0] as object).slice(0, 2)).toEqual(['kind', 'time']);
    expect(records[0]).toMatchObject({ kind: 'lm', step: 1, loss: 4.5, lr: 3e-4 });
    expect(records[8]).toMatchObject({ kind: 'ppo', step: 3, 'objective/kl_coef': 0.05 });
    const samples = records[9] as { step: number; rows: unknown[] };
    expect(samples.step).toBe(3);
    expect(samples.rows[0]).toEqual({ prompt: 'Say hi', response: '<script>alert(1)</script>', score: 0.5, kl: 0.25 });
  });

  it('writes NaN and Infinity as null and lists their keys in "nonFinite"', async () => {
    const file = path.join(dir, 'm.jsonl');
    const logger = metricsLogger(file);
    logger.log('info', 'sft step', { step: 1, loss: NaN, gradNorm: Infinity, lr: -Infinity, tokens: 3 });
    logSamples(logger, 1, [{ prompt: 'p', response: 'r', score: NaN, kl: 0 }]);
    await logger.close();
    const [step, samples] = await lines(file);
    expect(step).toMatchObject({ kind: 'sft', step: 1, loss: null, gradNorm: null, lr: null, tokens: 3, nonFinite: ['loss', 'gradNorm', 'lr'] });
    expect((samples as { rows: unknown[] }).rows[0]).toEqual({ prompt: 'p', response: 'r', score: null, kl: 0, nonFinite: ['score'] });
  });

  it('keeps only the listed kinds, batches lines with flushEvery, and keeps the stored kind and time', async () => {
    const file = path.join(dir, 'm.jsonl');
    const logger = metricsLogger(file, { kinds: ['ppo'], flushEvery: 5 });
    logPipeline(logger, 3);
    logger.log('info', 'ppo step', { step: 4, kind: 'evil', time: 'never' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(fs.stat(file)).rejects.toThrow(); // 4 records are waiting; nothing written yet
    await logger.flush();
    const records = await lines(file);
    expect(records.map((r) => [r.kind, r.step])).toEqual([['ppo', 1], ['ppo', 2], ['ppo', 3], ['ppo', 4]]);
    expect(records[3]?.time).not.toBe('never');
    for (let s = 5; s <= 14; s++) logger.log('info', 'ppo step', { step: s });
    await logger.close();
    expect((await lines(file)).map((r) => r.step)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
  });

  it('appends to an existing file, and stays usable after close', async () => {
    const file = path.join(dir, 'm.jsonl');
    await fs.writeFile(file, '{"kind":"lm","step":0}\n');
    const logger = metricsLogger(file);
    logger.log('info', 'lm step', { step: 1 });
    await logger.close();
    logger.log('info', 'lm step', { step: 2 });
    await logger.close();
    expect((await lines(file)).map((r) => r.step)).toEqual([0, 1, 2]);
  });

  it('reports a write failure from flush and close, without throwing from log', async () => {
    await fs.writeFile(path.join(dir, 'file'), 'x');
    const logger = metricsLogger(path.join(dir, 'file', 'm.jsonl'));
    expect(() => logger.log('info', 'lm step', { step: 1 })).not.toThrow();
    await expect(logger.flush()).rejects.toThrow();
    await expect(logger.close()).rejects.toThrow();
  });

  it('validates options', () => {
    expect(() => metricsLogger(path.join(dir, 'm'), { flushEvery: 0 })).toThrow(ConfigError);
    expect(() => metricsLogger(path.join(dir, 'm'), { kinds: 'ppo' as unknown as string[] })).toThrow(ConfigError);
    expect(() => metricsLogger('')).toThrow(/path/);
  });
});

describe('combineLoggers', () => {
  it('passes every message to every logger, even when one throws', () => {
    const seen: [string, LogLevel, string][] = [];
    const recorder = (name: string): Logger => ({ log: (level, message) => void seen.push([name, level, message]) });
    const failing: Logger = { log: () => { throw new Error('boom'); } };
    const both = combineLoggers(recorder('a'), failing, recorder('b'));
    expect(() => both.log('info', 'lm step', { step: 1 })).toThrow('boom');
    expect(() => combineLoggers(recorder('a'), recorder('b')).log('warn', 'x')).not.toThrow();
    expect(seen).toEqual([['a', 'info', 'lm step'], ['b', 'info', 'lm step'], ['a', 'warn', 'x'], ['b', 'warn', 'x']]);
  });

  it('rejects a non-logger', () => {
    expect(() => combineLoggers({} as Logger)).toThrow(/loggers\[0\]/);
  });
});
