// Runs the two PPO examples as a user would (QUICK=1 smoke settings), against the built package
// (dist/ is built once by tests/global-setup.ts), and checks that every step prints the PPO metrics
// with finite values.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rlhf-ppo-example-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function runExample(file: string, env: Record<string, string>): string {
  return execFileSync('npx', ['tsx', file], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, QUICK: '1', ...env } });
}

/** The `name value` pairs of one printed step line. */
function metrics(line: string): Map<string, number> {
  return new Map([...line.matchAll(/((?:objective|policy|val|time)\/\w+) (\S+)/g)].map((m) => [m[1] as string, Number(m[2])]));
}

/** Checks the step lines: `count` of them, each with `names`, every value finite (explained variance may be NaN). */
function checkSteps(out: string, count: number, names: string[]): void {
  const lines = out.split('\n').filter((l) => /^step +\d+/.test(l));
  expect(lines).toHaveLength(count);
  for (const line of lines) {
    const m = metrics(line);
    for (const name of names) {
      expect(m.has(name), `${name} in: ${line}`).toBe(true);
      const v = m.get(name) as number;
      // NaN is the documented value when the returns of a batch have no spread (e.g. every score 0).
      if (name === 'val/explained_variance' && Number.isNaN(v)) continue;
      expect(Number.isFinite(v), `${name} = ${v} in: ${line}`).toBe(true);
    }
  }
}

describe('PPO examples', () => {
  it('examples/custom-reward.ts runs PPO against a TypeScript function (QUICK=1)', () => {
    const out = runExample('examples/custom-reward.ts', { STEPS: '3' });
    checkSteps(out, 3, [
      'objective/scores', 'objective/kl', 'objective/rlhf_reward', 'policy/approxkl_avg', 'policy/clipfrac_avg',
      'val/explained_variance', 'time/total',
    ]);
    expect(out).toMatch(/held-out mean reward -?[\d.]+ -> -?[\d.]+/);
  }, 180_000);

  it('examples/ppo.ts runs PPO against a reward model and saves a checkpoint (QUICK=1, stand-in models)', () => {
    // An empty IN_DIR: the example builds its stand-in SFT policy and reward model, whatever .tmp holds.
    const out = runExample('examples/ppo.ts', { STEPS: '2', IN_DIR: join(dir, 'in'), OUT: join(dir, 'ppo-run') });
    expect(out).toContain('STAND-INS');
    checkSteps(out, 2, [
      'objective/scores', 'objective/kl', 'objective/rlhf_reward', 'policy/approxkl_avg', 'policy/clipfrac_avg',
      'val/explained_variance', 'val/num_eos_tokens', 'time/rollout', 'time/score', 'time/update',
    ]);
    expect(out).toMatch(/held-out mean reward-model score -?[\d.]+ -> -?[\d.]+/);
    for (const f of ['trainer.json', 'trainer.safetensors', 'policy/config.json', 'ref/config.json', 'critic/config.json']) {
      expect(existsSync(join(dir, 'ppo-run', f)), f).toBe(true);
    }
  }, 180_000);
});
