// Runs the README's main job, examples/quickstart.ts, with its smoke settings (QUICK=1) as a user
// would (against the built package), and checks that every stage printed its result, the before/after
// comparison was printed, and the report page holds the charts and the data of the run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
let out: string;
let printed: string;
beforeAll(async () => {
  out = join(await mkdtemp(join(tmpdir(), 'rlhf-quickstart-')), 'run');
  printed = execFileSync('npx', ['tsx', 'examples/quickstart.ts'], {
    cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, QUICK: '1', OUT: out },
  });
}, 320_000);
afterAll(() => rm(resolve(out, '..'), { recursive: true, force: true }));

describe('examples/quickstart.ts (QUICK=1)', () => {
  it('runs every stage and prints the before/after comparison', () => {
    for (const stage of ['stage 0: loaded', 'stage 1: SFT', 'stage 2: the simulated labeller ranked', 'stage 2: reward model on', 'stage 3: reward of the rollouts']) {
      expect(printed, stage).toContain(stage);
    }
    expect(printed).toContain('before RLHF: the SFT policy');
    expect(printed).toContain('after RLHF: the PPO policy');
    expect(printed).toMatch(/mean labeller score -?\d+\.\d\d -> -?\d+\.\d\d/);
    for (const f of ['sft-policy/config.json', 'reward-model/config.json', 'ppo/trainer.json', 'comparisons.jsonl', 'metrics.jsonl']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
  });

  it('every checkpoint folder holds the BPE tokenizer the base was trained with', async () => {
    const { BpeTokenizer, loadTokenizer } = await import('../../src/index');
    const base = await loadTokenizer(join(root, 'examples/assets/brown-bpe'));
    expect(base).toBeInstanceOf(BpeTokenizer);
    for (const dir of ['sft-policy', 'reward-model', 'ppo/policy']) {
      const tok = await loadTokenizer(join(out, dir));
      expect(tok, dir).toBeInstanceOf(BpeTokenizer);
      expect(tok.vocabSize, dir).toBe(base.vocabSize);
      expect(tok.encode('The jury praised the administration.'), dir).toEqual(base.encode('The jury praised the administration.'));
    }
    expect(printed).toMatch(/English words \d\.\d{3} -> \d\.\d{3}/);
  });

  it('writes a self-contained report page with the charts and the data of the run', async () => {
    const html = await readFile(join(out, 'report', 'report.html'), 'utf8');
    for (const chart of ['reward', 'kl', 'loss', 'clipfrac', 'lr', 'accuracy']) {
      expect(html, chart).toContain(`<figure id="chart-${chart}"`);
      expect(existsSync(join(out, 'report', `${chart}.svg`)), `${chart}.svg`).toBe(true);
    }
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(6);
    const m = /<script type="application\/json" id="tfjs-rlhf-metrics">([^<]*)<\/script>/.exec(html);
    expect(m).not.toBeNull();
    const data = JSON.parse(m?.[1] ?? 'null') as { series: Record<string, unknown[]>; samples: unknown[] };
    expect(data.series.ppo).toHaveLength(2); // QUICK=1 runs 2 PPO steps
    expect(data.series.sft?.length).toBeGreaterThan(0);
    expect(data.series.reward?.length).toBeGreaterThan(0);
    expect(data.samples.length).toBeGreaterThan(0); // sampleEvery: 1 in QUICK mode
  });
});
