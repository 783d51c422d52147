// Runs examples/rounds.ts (two rounds of collect -> reward model -> PPO with a simulated judge) with its
// smoke settings, against the built package, and checks each round's printed summary and checkpoint.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'rlhf-rounds-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('examples/rounds.ts (QUICK=1)', () => {
  it('runs two rounds, each labelled, trained, saved and summarised; the reward model sees both rounds', () => {
    const out = join(dir, 'run');
    const printed = execFileSync('npx', ['tsx', 'examples/rounds.ts'], {
      cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, QUICK: '1', OUT: out },
    });
    const rounds = printed.split('\n').filter((l) => /^round \d+:/.test(l));
    expect(rounds).toHaveLength(2);
    const records = rounds.map((l) => Number(/reward model on (\d+) records/.exec(l)?.[1]));
    expect(records[1]).toBeGreaterThan(records[0] as number);
    for (const n of [1, 2]) {
      const summary = JSON.parse(readFileSync(join(out, `round-${n}`, 'summary.json'), 'utf8')) as { round: number; collected: { labelled: number } };
      expect(summary.round).toBe(n);
      expect(summary.collected.labelled).toBeGreaterThan(0);
      expect(existsSync(join(out, `round-${n}`, 'policy', 'model.safetensors'))).toBe(true);
      expect(existsSync(join(out, `round-${n}`, 'reward-model', 'model.safetensors'))).toBe(true);
    }
    const labelled = readFileSync(join(out, 'comparisons.jsonl'), 'utf8').trim().split('\n');
    expect(labelled.every((l) => (JSON.parse(l) as { labeler: string }).labeler === 'judge:afinn-165')).toBe(true);
  }, 320_000);
});
