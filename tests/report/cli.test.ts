import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { runReportCli } from '../../src/report/cli';
import { metricsLogger } from '../../src/report/metrics-logger';
import { logPipeline } from './fixtures';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tfjs-rlhf-cli-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runReportCli(argv, { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
  return { code, out, err };
}

async function writeMetrics(file: string): Promise<void> {
  const logger = metricsLogger(file);
  logPipeline(logger, 3);
  await logger.close();
}

describe('tfjs-rlhf-report', () => {
  it('writes the report end to end and prints the files it wrote', async () => {
    const file = path.join(dir, 'metrics.jsonl');
    await writeMetrics(file);
    const out = path.join(dir, 'out');
    const r = await run([file, '--out', out, '--title=My run']);
    expect(r).toMatchObject({ code: 0, err: '' });
    const printed = r.out.trimEnd().split('\n');
    expect(printed[0]).toBe(`Wrote ${path.join(out, 'report.html')}`);
    expect(printed).toContain(`Wrote ${path.join(out, 'reward.svg')}`);
    expect(printed).toHaveLength(8);
    const html = await fs.readFile(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<title>My run</title>');
  });

  it('defaults the output to report/ next to the metrics file', async () => {
    const file = path.join(dir, 'metrics.jsonl');
    await writeMetrics(file);
    const r = await run(['-o', path.join(dir, 'x'), '--', file]);
    expect(r.code).toBe(0);
    expect((await run([file])).code).toBe(0);
    await expect(fs.stat(path.join(dir, 'report', 'report.html'))).resolves.toBeTruthy();
  });

  it('prints help, and rejects bad arguments with status 2', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, err: '' });
    expect((await run(['-h'])).out).toContain('Usage: tfjs-rlhf-report');
    for (const argv of [[], ['a', 'b'], ['a', '--bogus'], ['a', '--out']]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.err).toContain('Usage: tfjs-rlhf-report');
    }
  });

  it('reports a malformed or missing file with status 1', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await fs.writeFile(file, '{"kind":"lm"}\nnot json\n');
    const bad = await run([file]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${file}:2:`);
    const missing = await run([path.join(dir, 'none.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('ENOENT');
  });
});
