import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileFormatError } from '../../src/errors';
import { metricsLogger } from '../../src/report/metrics-logger';
import { readMetrics } from '../../src/report/read-metrics';
import { logPipeline, ppoStats } from './fixtures';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-readmetrics-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function* chunks(text: string): AsyncGenerator<string> {
  yield text;
}

describe('readMetrics', () => {
  it('round-trips what metricsLogger wrote, grouped by kind, with NaN restored', async () => {
    const file = path.join(dir, 'm.jsonl');
    const logger = metricsLogger(file);
    logPipeline(logger, 4);
    logger.log('info', 'ppo step', { ...ppoStats(5), 'loss/value_avg': NaN });
    await logger.close();
    const history = await readMetrics(file);
    expect(Object.keys(history.series)).toEqual(['lm', 'reward', 'ppo']);
    expect(history.series.lm?.map((r) => r.loss)).toEqual([4.5, 4, 3.5, 3]);
    const ppo = history.series.ppo ?? [];
    expect(ppo).toHaveLength(5);
    const { kind, time, ...stats } = ppo[0] ?? { kind: '' };
    expect(kind).toBe('ppo');
    expect(typeof time).toBe('string');
    expect(stats).toEqual(ppoStats(1));
    expect(ppo[4]?.['loss/value_avg']).toBeNaN();
    expect(ppo[4]).not.toHaveProperty('nonFinite');
    expect(history.samples).toHaveLength(1);
    const rows = history.samples[0]?.rows ?? [];
    expect(rows[0]).toEqual({ prompt: 'Say hi', response: '<script>alert(1)</script>', score: 0.5, kl: 0.25 });
    expect(rows[1]?.score).toBeNaN();
  });

  it('reads streams and skips blank lines', async () => {
    const history = await readMetrics(chunks('{"kind":"lm","step":1,"loss":2}\n\n{"kind":"lm","step":2,"loss":1}\n'));
    expect(history.series.lm?.map((r) => r.step)).toEqual([1, 2]);
    expect(history.samples).toEqual([]);
  });

  it('rejects a malformed line with file:line', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await fs.writeFile(file, '{"kind":"lm","step":1}\n\n{"kind":"lm","step":2\n');
    const err = await readMetrics(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as FileFormatError).line).toBe(3);
    expect((err as Error).message).toContain(`${file}:3:`);
  });

  it.each([
    ['[1,2]', /JSON object/],
    ['{"step":1}', /"kind"/],
    ['{"kind":"lm","step":"one"}', /"step"/],
    ['{"kind":"lm","time":5}', /"time"/],
    ['{"kind":"samples","step":1}', /"rows"/],
    ['{"kind":"samples","rows":[{"prompt":"p"}]}', /rows\[0\]\."response"/],
    ['{"kind":"samples","rows":[{"prompt":"p","response":"r","score":"high"}]}', /rows\[0\]\."score"/],
  ])('rejects the record %s', async (line, reason) => {
    const err = await readMetrics(chunks(`{"kind":"lm"}\n${line}\n`), { name: 'm.jsonl' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FileFormatError);
    expect((err as Error).message).toMatch(/^m\.jsonl:2: /);
    expect((err as Error).message).toMatch(reason);
  });
});
